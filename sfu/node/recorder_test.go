package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/twitchtv/twirp"
	"go.uber.org/goleak"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/client-sdk/go/media"
	"github.com/classcast/classcast/recorder/catalog"
)

func requireFFmpeg(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make test installs it)", tool)
		}
	}
}

// startRecordingNode runs a dev node that records into dataDir.
func startRecordingNode(t *testing.T, dataDir, record string) *Node {
	t.Helper()
	cfg := Defaults()
	cfg.Dev = true
	cfg.Port, cfg.RTC.UDPPort, cfg.RTC.TCPPort = 0, 0, 0
	cfg.Room.DepartureTimeout = 2 * time.Second
	cfg.Recorder = RecorderConfig{DataDir: dataDir, Record: record}
	cfg.ShutdownGrace = 20 * time.Second
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	n, err := Start(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
		defer cancel()
		_ = n.Close(ctx)
	})
	return n
}

// rewindSource restarts its file when the publisher got a keyframe request
// since the last sample, so the next sample is a keyframe: a camera
// encoder answering PLI, from a file.
type rewindSource struct {
	path string
	src  media.Source
	plis func() uint64
	seen uint64
}

func openRewind(t *testing.T, path string, plis func() uint64) *rewindSource {
	src, err := media.OpenFile(path, 25)
	if err != nil {
		t.Fatal(err)
	}
	return &rewindSource{path: path, src: src, plis: plis}
}

func (s *rewindSource) NextSample() (pionmedia.Sample, error) {
	if n := s.plis(); n != s.seen {
		s.seen = n
		src, err := media.OpenFile(s.path, 25)
		if err != nil {
			return pionmedia.Sample{}, err
		}
		_ = s.src.Close()
		s.src = src
	}
	return s.src.NextSample()
}

func (s *rewindSource) MimeType() string { return s.src.MimeType() }
func (s *rewindSource) Close() error     { return s.src.Close() }

// countPLIs counts keyframe requests on a sender's RTCP (every simulcast
// encoding: the SDK's own counter only reads the first) until it stops.
func countPLIs(wg *sync.WaitGroup, sender *webrtc.RTPSender, rids []string, n *atomic.Uint64) {
	for _, rid := range rids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var pkts []rtcp.Packet
				var err error
				if rid == "" {
					pkts, _, err = sender.ReadRTCP()
				} else {
					pkts, _, err = sender.ReadSimulcastRTCP(rid)
				}
				if err != nil {
					return
				}
				for _, p := range pkts {
					switch p.(type) {
					case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
						n.Add(1)
					}
				}
			}
		}()
	}
}

// lesson publishes VP8 simulcast, H.264 and Opus whose media starts
// together when start is closed.
type lesson struct {
	vp8, h264, opus *client.LocalTrack
}

func publishGated(t *testing.T, ctx context.Context, wg *sync.WaitGroup, r *client.Room, start <-chan struct{}) lesson {
	t.Helper()
	gated := func(src media.Source, w media.SampleWriter) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer src.Close()
			select {
			case <-start:
				_ = media.Pump(ctx, src, w, nil)
			case <-ctx.Done():
			}
		}()
	}
	var l lesson
	// Keyframe requests seen by each publisher (read once published).
	var vp8Track, h264Track atomic.Pointer[client.LocalTrack]
	var vp8Upper atomic.Uint64
	plis := func(lt *atomic.Pointer[client.LocalTrack], extra *atomic.Uint64) func() uint64 {
		return func() uint64 {
			n := extra.Load()
			if t := lt.Load(); t != nil {
				n += t.PLIs()
			}
			return n
		}
	}
	var none atomic.Uint64
	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	var layers []client.SimulcastLayer
	for _, f := range []struct {
		rid, file string
		q         livekit.VideoQuality
		w, h, br  uint32
	}{
		{"q", "vp8_180p.ivf", livekit.VideoQuality_LOW, 320, 180, 150_000},
		{"h", "vp8_360p.ivf", livekit.VideoQuality_MEDIUM, 640, 360, 500_000},
		{"f", "vp8_720p.ivf", livekit.VideoQuality_HIGH, 1280, 720, 1_500_000},
	} {
		tr, err := webrtc.NewTrackLocalStaticSample(vp8, "cam", "lesson", webrtc.WithRTPStreamID(f.rid))
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, client.SimulcastLayer{Track: tr, Quality: f.q, Width: f.w, Height: f.h, Bitrate: f.br})
		gated(openRewind(t, testdata+f.file, plis(&vp8Track, &vp8Upper)), tr)
	}
	var err error
	if l.vp8, err = r.PublishSimulcast(ctx, layers, client.PublishOptions{Name: "camera", Source: livekit.TrackSource_CAMERA}); err != nil {
		t.Fatal(err)
	}
	vp8Track.Store(l.vp8)
	countPLIs(wg, l.vp8.Sender(), []string{"h", "f"}, &vp8Upper) // the SDK reads "q"
	ht, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "board", "board")
	if err != nil {
		t.Fatal(err)
	}
	gated(openRewind(t, testdata+"h264_720p.h264", plis(&h264Track, &none)), ht)
	if l.h264, err = r.PublishTrack(ctx, ht, client.PublishOptions{Name: "board", Source: livekit.TrackSource_CAMERA, Width: 1280, Height: 720}); err != nil {
		t.Fatal(err)
	}
	h264Track.Store(l.h264)
	at, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "lesson")
	if err != nil {
		t.Fatal(err)
	}
	gated(openRewind(t, testdata+"opus_48k.ogg", none.Load), at)
	if l.opus, err = r.PublishTrack(ctx, at, client.PublishOptions{Name: "mic", Source: livekit.TrackSource_MICROPHONE}); err != nil {
		t.Fatal(err)
	}
	return l
}

// apiToken mints a token for the HTTP APIs.
func apiToken(t *testing.T, identity string, g *auth.VideoGrant) string {
	t.Helper()
	jwt, err := auth.NewAccessToken("devkey", "secret").SetIdentity(identity).SetValidFor(time.Hour).SetVideoGrant(g).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

func withToken(ctx context.Context, t *testing.T, tok string) context.Context {
	h := http.Header{}
	if tok != "" {
		h.Set("Authorization", "Bearer "+tok)
	}
	ctx, err := twirp.WithHTTPRequestHeaders(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

func httpGet(t *testing.T, url, tok string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

type probed struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		CodecType string `json:"codec_type"`
		StartTime string `json:"start_time"`
	} `json:"streams"`
	Format struct {
		Duration  string `json:"duration"`
		StartTime string `json:"start_time"`
	} `json:"format"`
}

func ffprobe(t *testing.T, file string) probed {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries",
		"format=duration,start_time:stream=codec_name,codec_type,start_time", "-of", "json", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	var p probed
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func secs(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }

// checkAsset probes every file of a recording: one stream of the track's
// codec each, every track's duration within 2% of want, and track starts
// within 100 ms of each other (all media began together).
func checkAsset(t *testing.T, dataDir string, a *catalog.Asset, want time.Duration, codecs []string) {
	t.Helper()
	var got []string
	var starts []float64
	for _, tr := range a.Tracks {
		got = append(got, tr.Codec)
		start, end := math.Inf(1), 0.0
		for _, f := range tr.Files {
			p := ffprobe(t, filepath.Join(dataDir, a.Dir, f))
			if len(p.Streams) != 1 || p.Streams[0].CodecName != tr.Codec {
				t.Errorf("%s %s: streams %+v, want one %s", a.ID, f, p.Streams, tr.Codec)
			}
			// The files' decode times count from the recording start, and
			// ffprobe's format duration of such a file is its end time.
			start, end = math.Min(start, secs(p.Format.StartTime)), math.Max(end, secs(p.Format.Duration))
		}
		d := end - start
		t.Logf("%s %-5s %-5s %-22s files=%d start=%.3fs duration=%.3fs (published %.3fs, %+.2f%%)",
			a.ID, tr.Kind, tr.Codec, tr.SID, len(tr.Files), start, d, want.Seconds(), 100*(d-want.Seconds())/want.Seconds())
		if math.Abs(d-want.Seconds()) > 0.02*want.Seconds() {
			t.Errorf("%s track %s: duration %.3fs, published %.3fs (> 2%%)", a.ID, tr.SID, d, want.Seconds())
		}
		starts = append(starts, start)
	}
	slices.Sort(got)
	if !slices.Equal(got, codecs) {
		t.Errorf("%s: codecs %v, want %v", a.ID, got, codecs)
	}
	if len(starts) > 1 {
		spread := slices.Max(starts) - slices.Min(starts)
		t.Logf("%s: start offset between tracks %.1f ms", a.ID, spread*1000)
		if spread > 0.1 {
			t.Errorf("%s: track starts %v spread %.3fs (> 100 ms)", a.ID, starts, spread)
		}
	}
}

func getAsset(t *testing.T, n *Node, id, tok string) *catalog.Asset {
	t.Helper()
	code, body := httpGet(t, "http://"+n.Addr().String()+"/api/assets/"+id, tok)
	if code != http.StatusOK {
		t.Fatalf("GET asset %s: %d %s", id, code, body)
	}
	var out struct {
		Asset    catalog.Asset     `json:"asset"`
		Timeline []json.RawMessage `json:"timeline"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return &out.Asset
}

func playHLS(t *testing.T, n *Node, id, tok string) {
	t.Helper()
	url := fmt.Sprintf("http://%s/media/%s/master.m3u8?access_token=%s", n.Addr(), id, tok)
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", url, "-f", "null", "-").CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("ffmpeg HLS %s: %v\n%s", id, err, out)
	}
}

// TestRecorderEgressAndAuto records one lesson (VP8 simulcast, H.264,
// Opus) three ways at once: automatically (the room is in the auto-record
// list; stopped when the room closes), by participant egress and by track
// egress (stopped through StopEgress), then checks the files, the catalog,
// HLS playback and the access rules.
func TestRecorderEgressAndAuto(t *testing.T) {
	requireFFmpeg(t)
	t.Cleanup(func() { goleak.VerifyNone(t) })
	dataDir := t.TempDir()
	if d := os.Getenv("RECORDER_TEST_KEEP"); d != "" { // keep the files to look at
		dataDir = d
	}
	n := startRecordingNode(t, dataDir, "lesson-auto")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := "http://" + n.Addr().String()
	eg := livekit.NewEgressProtobufClient(base, http.DefaultClient)
	recTok := apiToken(t, "recorder-admin", &auth.VideoGrant{RoomRecord: true})
	rctx := withToken(ctx, t, recTok)

	teacher := connect(t, ctx, n, "lesson-auto", "teacher", nil)
	var wg sync.WaitGroup
	pctx, stopMedia := context.WithCancel(ctx)
	defer func() { stopMedia(); wg.Wait() }()
	start := make(chan struct{})
	l := publishGated(t, pctx, &wg, teacher, start)
	t0 := time.Now()
	close(start)
	rm, _ := n.Rooms().Get("lesson-auto")
	waitFor(t, 10*time.Second, "three tracks published", func() bool {
		p, err := rm.Published("teacher")
		return err == nil && len(p) == 3
	})

	// Refusals: no token, a token without roomRecord.
	_, err := eg.ListEgress(withToken(ctx, t, ""), &livekit.ListEgressRequest{})
	if te := new(twirp.Error); !errors.As(err, te) || (*te).Code() != twirp.Unauthenticated {
		t.Errorf("no token: %v, want unauthenticated", err)
	}
	joinTok := apiToken(t, "student", &auth.VideoGrant{RoomJoin: true, Room: "lesson-auto"})
	_, err = eg.StartTrackEgress(withToken(ctx, t, joinTok), &livekit.TrackEgressRequest{RoomName: "lesson-auto", TrackId: l.h264.SID()})
	if te := new(twirp.Error); !errors.As(err, te) || (*te).Code() != twirp.PermissionDenied {
		t.Errorf("join token: %v, want permission denied", err)
	}
	_, err = eg.StartWebEgress(rctx, &livekit.WebEgressRequest{Url: "http://example.com"})
	if te := new(twirp.Error); !errors.As(err, te) || (*te).Code() != twirp.Unimplemented {
		t.Errorf("web egress: %v, want unimplemented", err)
	}

	time.Sleep(time.Second) // the egress recordings start mid-stream
	pe, err := eg.StartParticipantEgress(rctx, &livekit.ParticipantEgressRequest{RoomName: "lesson-auto", Identity: "teacher"})
	if err != nil {
		t.Fatal(err)
	}
	te, err := eg.StartTrackEgress(rctx, &livekit.TrackEgressRequest{RoomName: "lesson-auto", TrackId: l.h264.SID()})
	if err != nil {
		t.Fatal(err)
	}
	tEgress := time.Now()
	if pe.Status != livekit.EgressStatus_EGRESS_ACTIVE || te.GetTrack().GetTrackId() != l.h264.SID() {
		t.Fatalf("egress infos: %v / %v", pe, te)
	}
	time.Sleep(10 * time.Second)
	n.RecorderTimeline("lesson-auto").AddChapter(time.Now(), "Second half")
	n.RecorderTimeline("lesson-auto").AddEvent("on_stage", time.Now(), map[string]string{"identity": "teacher"})

	list, err := eg.ListEgress(rctx, &livekit.ListEgressRequest{RoomName: "lesson-auto", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	var autoID string
	for _, it := range list.Items {
		if it.EgressId != pe.EgressId && it.EgressId != te.EgressId {
			autoID = it.EgressId
		}
	}
	if len(list.Items) != 3 || autoID == "" {
		t.Fatalf("active egress: %v", list.Items)
	}

	time.Sleep(time.Until(tEgress.Add(20500 * time.Millisecond)))
	// Both stop at once; each answer comes when its recording is finalized.
	tStop := time.Now()
	infos := make([]*livekit.EgressInfo, 2)
	errs := make([]error, 2)
	var stops sync.WaitGroup
	for i, id := range []string{pe.EgressId, te.EgressId} {
		stops.Add(1)
		go func() {
			defer stops.Done()
			infos[i], errs[i] = eg.StopEgress(rctx, &livekit.StopEgressRequest{EgressId: id})
		}()
	}
	stops.Wait()
	for i, info := range infos {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if info.Status != livekit.EgressStatus_EGRESS_COMPLETE || len(info.FileResults) == 0 || info.Error != "" {
			t.Errorf("stopped: %v", info)
		}
	}
	t.Logf("stop (with finalize) took %v", time.Since(tStop).Round(time.Millisecond))
	if _, err := eg.StopEgress(rctx, &livekit.StopEgressRequest{EgressId: te.EgressId}); err == nil {
		t.Error("stopping a finished egress succeeded")
	}
	tLeave := time.Now()
	stopMedia()
	_ = teacher.Close()
	waitFor(t, 20*time.Second, "the automatic recording to end with the room", func() bool {
		l, err := eg.ListEgress(rctx, &livekit.ListEgressRequest{EgressId: autoID})
		return err == nil && len(l.Items) == 1 && l.Items[0].Status == livekit.EgressStatus_EGRESS_COMPLETE
	})
	recordedFor := map[string]time.Duration{pe.EgressId: tStop.Sub(tEgress), te.EgressId: tStop.Sub(tEgress), autoID: tLeave.Sub(t0)}
	t.Logf("published: auto %.3fs, egress %.3fs", tLeave.Sub(t0).Seconds(), tStop.Sub(tEgress).Seconds())

	// The catalog lists all three; each file checks out with ffprobe.
	code, body := httpGet(t, base+"/api/assets", recTok)
	if code != http.StatusOK {
		t.Fatalf("GET /api/assets: %d %s", code, body)
	}
	var listed struct{ Assets []catalog.Asset }
	_ = json.Unmarshal(body, &listed)
	ids := map[string]bool{}
	for _, a := range listed.Assets {
		ids[a.ID] = true
	}
	for id := range recordedFor {
		if !ids[id] {
			t.Errorf("asset %s not listed: %s", id, body)
		}
	}
	wantCodecs := map[string][]string{pe.EgressId: {"h264", "opus", "vp8"}, te.EgressId: {"h264"}, autoID: {"h264", "opus", "vp8"}}
	for id, d := range recordedFor {
		a := getAsset(t, n, id, recTok)
		if a.Status != catalog.StatusComplete {
			t.Errorf("%s: status %s", id, a.Status)
		}
		checkAsset(t, dataDir, a, d, wantCodecs[id])
	}
	auto := getAsset(t, n, autoID, recTok)
	if len(auto.Chapters) != 1 || auto.Chapters[0].Title != "Second half" || len(auto.Chapters[0].Clips) != 3 {
		t.Errorf("auto chapters: %+v", auto.Chapters)
	}
	_, tl := httpGet(t, base+"/media/"+autoID+"/files/timeline.jsonl", recTok)
	for _, kind := range []string{`"kind":"join"`, `"kind":"leave"`, `"kind":"on_stage"`, `"kind":"chapter"`} {
		if !bytes.Contains(tl, []byte(kind)) {
			t.Errorf("timeline lacks %s:\n%s", kind, tl)
		}
	}

	t.Logf("files checked at %v", time.Since(t0).Round(time.Millisecond))
	// HLS plays with ffmpeg, with a token that may join the room.
	playTok := apiToken(t, "viewer", &auth.VideoGrant{RoomJoin: true, Room: "lesson-auto"})
	playHLS(t, n, te.EgressId, playTok)
	playHLS(t, n, autoID, playTok)

	t.Logf("HLS played at %v", time.Since(t0).Round(time.Millisecond))
	// Access rules.
	otherRoom := apiToken(t, "viewer", &auth.VideoGrant{RoomJoin: true, Room: "another"})
	for _, c := range []struct {
		path, tok string
		want      int
	}{
		{"/api/assets", "", http.StatusUnauthorized},
		{"/api/assets", "not-a-jwt", http.StatusUnauthorized},
		{"/api/assets", playTok, http.StatusForbidden},
		{"/api/assets/" + autoID, playTok, http.StatusForbidden},
		{"/media/" + autoID + "/master.m3u8", otherRoom, http.StatusForbidden},
		{"/media/" + autoID + "/master.m3u8", playTok, http.StatusOK},
		{"/media/" + autoID + "/files/timeline.jsonl?download=1", playTok, http.StatusForbidden},
		{"/api/assets/" + autoID, apiToken(t, "admin", &auth.VideoGrant{RoomAdmin: true, Room: "lesson-auto"}), http.StatusOK},
	} {
		if code, body := httpGet(t, base+c.path, c.tok); code != c.want {
			t.Errorf("GET %s: %d %s, want %d", c.path, code, body, c.want)
		}
	}
}

// publishH264 publishes the H.264 test clip plus Opus until ctx ends.
func publishH264(t *testing.T, ctx context.Context, wg *sync.WaitGroup, r *client.Room) *client.LocalTrack {
	t.Helper()
	ht, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "board", "board")
	if err != nil {
		t.Fatal(err)
	}
	lt, err := r.PublishTrack(ctx, ht, client.PublishOptions{Name: "board", Width: 1280, Height: 720})
	if err != nil {
		t.Fatal(err)
	}
	pump(t, ctx, wg, testdata+"h264_720p.h264", ht)
	return lt
}

// TestRecorderRecoversAtStart copies a recording in progress (as a crash
// would leave it: no finalize marker, maybe a torn fragment) into a new
// data dir; a node started on it recovers the asset before serving.
func TestRecorderRecoversAtStart(t *testing.T) {
	requireFFmpeg(t)
	t.Cleanup(func() { goleak.VerifyNone(t) })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := startRecordingNode(t, t.TempDir(), "all")
	teacher := connect(t, ctx, n, "crash", "teacher", nil)
	var wg sync.WaitGroup
	pctx, stopMedia := context.WithCancel(ctx)
	defer func() { stopMedia(); wg.Wait() }()
	publishH264(t, pctx, &wg, teacher)
	rctx := withToken(ctx, t, apiToken(t, "rec", &auth.VideoGrant{RoomRecord: true}))
	eg := livekit.NewEgressProtobufClient("http://"+n.Addr().String(), http.DefaultClient)
	var id string
	waitFor(t, 10*time.Second, "the automatic recording", func() bool {
		l, err := eg.ListEgress(rctx, &livekit.ListEgressRequest{RoomName: "crash", Active: true})
		if err == nil && len(l.Items) == 1 {
			id = l.Items[0].EgressId
		}
		return id != ""
	})
	// Wait for at least two whole fragments on disk rather than for a fixed
	// time: on a busy machine the first keyframe can come late.
	waitFor(t, 30*time.Second, "fragments on disk", func() bool {
		files, _ := filepath.Glob(filepath.Join(n.cfg.Recorder.DataDir, id, "tracks", "*.mp4"))
		for _, f := range files {
			if st, err := os.Stat(f); err == nil && st.Size() > 400_000 {
				return true
			}
		}
		return false
	})
	crashed := t.TempDir()
	if out, err := exec.Command("cp", "-r", filepath.Join(n.cfg.Recorder.DataDir, id), crashed).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	stopMedia()

	n2 := startRecordingNode(t, crashed, "")
	a := getAsset(t, n2, id, apiToken(t, "rec", &auth.VideoGrant{RoomRecord: true}))
	if a.Status != catalog.StatusRecovered || len(a.Tracks) != 1 {
		t.Fatalf("recovered asset: %+v", a)
	}
	p := ffprobe(t, filepath.Join(crashed, a.Dir, a.Tracks[0].Files[0]))
	// Video fragments are up to 2 s and the one being written when the
	// copy was taken is cut off: at least one whole fragment remains.
	if d := secs(p.Format.Duration) - secs(p.Format.StartTime); d < 1.9 {
		t.Errorf("recovered %.3fs, want at least a 2 s fragment of the 4 s", d)
	}
	t.Logf("recovered %s: %.3fs of %s", id, secs(p.Format.Duration)-secs(p.Format.StartTime), a.Tracks[0].Codec)
	info, err := livekit.NewEgressProtobufClient("http://"+n2.Addr().String(), http.DefaultClient).
		ListEgress(rctx, &livekit.ListEgressRequest{EgressId: id})
	if err != nil || len(info.Items) != 1 || info.Items[0].Status != livekit.EgressStatus_EGRESS_COMPLETE {
		t.Errorf("egress of the recovered asset: %v %v", info, err)
	}
}

// TestRecorderDiskFull records onto a small tmpfs until it is full: the
// recording stops by itself, its egress says EGRESS_FAILED with the error,
// and the write-error metric counts it.
func TestRecorderDiskFull(t *testing.T) {
	requireFFmpeg(t)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1200k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
	t.Cleanup(func() { goleak.VerifyNone(t) })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := startRecordingNode(t, mnt, "")
	teacher := connect(t, ctx, n, "full", "teacher", nil)
	var wg sync.WaitGroup
	pctx, stopMedia := context.WithCancel(ctx)
	defer func() { stopMedia(); wg.Wait() }()
	lt := publishH264(t, pctx, &wg, teacher)
	rm, _ := n.Rooms().Get("full")
	waitFor(t, 10*time.Second, "the track", func() bool { p, err := rm.Published("teacher"); return err == nil && len(p) == 1 })
	rctx := withToken(ctx, t, apiToken(t, "rec", &auth.VideoGrant{RoomRecord: true}))
	eg := livekit.NewEgressProtobufClient("http://"+n.Addr().String(), http.DefaultClient)
	info, err := eg.StartTrackEgress(rctx, &livekit.TrackEgressRequest{RoomName: "full", TrackId: lt.SID()})
	if err != nil {
		t.Fatal(err)
	}
	var got *livekit.EgressInfo
	waitFor(t, 30*time.Second, "the recording to fail", func() bool {
		l, err := eg.ListEgress(rctx, &livekit.ListEgressRequest{EgressId: info.EgressId})
		if err == nil && len(l.Items) == 1 && l.Items[0].Status == livekit.EgressStatus_EGRESS_FAILED {
			got = l.Items[0]
		}
		return got != nil
	})
	t.Logf("egress %s: %s error=%q files=%d", got.EgressId, got.Status, got.Error, len(got.FileResults))
	if got.Error == "" {
		t.Error("failed egress without an error")
	}
	mfs, err := n.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	writeErrors := -1.0
	for _, mf := range mfs {
		if mf.GetName() == "classcast_recorder_write_errors_total" {
			writeErrors = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if writeErrors < 1 {
		t.Errorf("classcast_recorder_write_errors_total = %v, want >= 1", writeErrors)
	}
}
