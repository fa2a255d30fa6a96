package ingest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/sfu/node"
)

// simulcastFile is one encoding a WHIP test publisher sends.
type simulcastFile struct {
	rid   string
	path  string
	width int
}

var (
	vp8Low  = sdkTestdata + "vp8_180p.ivf"
	vp8Mid  = sdkTestdata + "vp8_360p.ivf"
	vp8High = sdkTestdata + "vp8_720p.ivf"
)

// TestWHIPSimulcast: a pion WHIP publisher sends several rid encodings of
// one camera on one m-line (a=simulcast:send), spelled as LiveKit/Chromium
// do (q;h;f, lowest first) and as OBS does (0;1, 0 the full size). All of
// them become layers of the one published track, and a Go SDK subscriber
// receives the layer it asks for, switching up and down.
func TestWHIPSimulcast(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []simulcastFile // in the offer's order
		steps []livekit.VideoQuality
		want  []int // keyframe width per step
	}{
		{
			name:  "q;h;f",
			files: []simulcastFile{{"q", vp8Low, 320}, {"h", vp8Mid, 640}, {"f", vp8High, 1280}},
			steps: []livekit.VideoQuality{livekit.VideoQuality_LOW, livekit.VideoQuality_HIGH, livekit.VideoQuality_MEDIUM, livekit.VideoQuality_LOW},
			want:  []int{320, 1280, 640, 320},
		},
		{
			name:  "OBS 0;1",
			files: []simulcastFile{{"0", vp8High, 1280}, {"1", vp8Mid, 640}},
			steps: []livekit.VideoQuality{livekit.VideoQuality_LOW, livekit.VideoQuality_HIGH, livekit.VideoQuality_LOW},
			want:  []int{640, 1280, 640},
		},
	} {
		t.Run(strings.ReplaceAll(tc.name, ";", "-"), func(t *testing.T) {
			t.Cleanup(func() { goleak.VerifyNone(t) })
			// Layer choice by request, not by bandwidth: loopback delay on a
			// busy 2-core machine is too noisy for congestion control.
			n := startNode(t, func(c *node.Config) { c.RTC.NoCongestionControl = true })
			ctx, cancel := context.WithCancel(context.Background())
			var pumps sync.WaitGroup
			defer pumps.Wait()
			defer cancel()

			sub := connect(t, ctx, n, "lesson", "viewer", grant(false, true), client.WithAutoDrain())
			whipSimulcastPublisher(t, ctx, &pumps, httpURL(n), "lesson", token(t, "lesson", "obs", grant(true, false)), tc.files)

			var video *client.RemoteTrack
			waitFor(t, 20*time.Second, "WHIP simulcast video at the subscriber", func() bool {
				video = trackOf(sub, "obs", "video")
				return video != nil && video.Stats().Keyframes > 0
			})
			info := publishedVideo(sub, "obs")
			if info == nil || !info.Simulcast || len(info.Layers) != len(tc.files) {
				t.Fatalf("published track %v: want simulcast with %d layers", info, len(tc.files))
			}
			for i, q := range tc.steps {
				if err := video.SetSettings(client.TrackSettings{Quality: q}); err != nil {
					t.Fatal(err)
				}
				took := waitFor(t, 20*time.Second, q.String()+" layer", func() bool { return video.Stats().Width == tc.want[i] })
				frames := video.Stats().Frames
				waitFor(t, 10*time.Second, "frames of the "+q.String()+" layer", func() bool {
					s := video.Stats()
					return s.Frames > frames+10 && s.Width == tc.want[i]
				})
				t.Logf("%s: %dpx wide after %v", q, tc.want[i], took.Round(time.Millisecond))
			}
		})
	}
}

// whipSimulcastPublisher is a pion WHIP client sending one VP8 track as
// simulcast (one encoding per file, rid header extensions on) and no audio.
func whipSimulcastPublisher(t *testing.T, ctx context.Context, wg *sync.WaitGroup, base, roomName, tok string, files []simulcastFile) {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	tagger := &ridTagger{}
	ir.Add(tagger)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(*loopbackSE()))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	tracks := make([]*webrtc.TrackLocalStaticSample, len(files))
	for i, f := range files {
		if tracks[i], err = webrtc.NewTrackLocalStaticSample(codec, "camera", "whip", webrtc.WithRTPStreamID(f.rid)); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := pc.AddTransceiverFromTrack(tracks[0], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		t.Fatal(err)
	}
	for _, extra := range tracks[1:] {
		if err := tr.Sender().AddEncoding(extra); err != nil {
			t.Fatal(err)
		}
	}
	for _, enc := range tr.Sender().GetParameters().Encodings {
		tagger.tags.Store(uint32(enc.SSRC), enc.RID)
	}
	post(t, pc, base, "/whip/"+roomName, tok)
	if !strings.Contains(pc.RemoteDescription().SDP, "a=simulcast:recv") {
		t.Fatalf("answer accepts no simulcast:\n%s", pc.RemoteDescription().SDP)
	}
	for i, f := range files {
		pump(t, ctx, wg, f.path, tracks[i])
	}
}

// ridTagger writes the sdes:mid and sdes:rtp-stream-id header extensions
// that browsers and OBS put on simulcast packets and pion's sender leaves
// out: the SFU tells the layers apart by them. One m-section, mid "0".
type ridTagger struct {
	interceptor.NoOp
	tags sync.Map // SSRC → rid
}

func (r *ridTagger) NewInterceptor(string) (interceptor.Interceptor, error) { return r, nil }

func (r *ridTagger) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	v, ok := r.tags.Load(info.SSRC)
	if !ok {
		return w
	}
	rid := []byte(v.(string))
	var midID, ridID uint8
	for _, e := range info.RTPHeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		}
	}
	if midID == 0 || ridID == 0 {
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		_ = h.SetExtension(midID, []byte("0"))
		_ = h.SetExtension(ridID, rid)
		return w.Write(h, payload, a)
	})
}

// publishedVideo is identity's video TrackInfo as the subscriber sees it.
func publishedVideo(r *client.Room, identity string) *livekit.TrackInfo {
	p := r.Participant(identity)
	if p == nil {
		return nil
	}
	for _, ti := range p.Info.Tracks {
		if ti.Type == livekit.TrackType_VIDEO {
			return ti
		}
	}
	return nil
}
