package client

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/classcast/classcast/client-sdk/go/internal/fakesfu"
	"github.com/classcast/classcast/client-sdk/go/media"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

// received counts what the fake server got per rid (or mime type for non-simulcast tracks).
type received struct {
	mu        sync.Mutex
	packets   map[string]int
	keyframes map[string]int
	widths    map[string]int
}

func newReceived() *received {
	return &received{packets: map[string]int{}, keyframes: map[string]int{}, widths: map[string]int{}}
}

func (rc *received) onTrack(_ *fakesfu.Session, t *webrtc.TrackRemote) {
	key := t.RID()
	if key == "" {
		key = t.Codec().MimeType
	}
	buf := make([]byte, 1500)
	pkt := &rtp.Packet{}
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		rc.mu.Lock()
		rc.packets[key]++
		switch t.Codec().MimeType {
		case webrtc.MimeTypeVP8:
			if info, err := media.InspectVP8(pkt.Payload); err == nil && info.Keyframe {
				rc.keyframes[key]++
				rc.widths[key] = info.Width
			}
		case webrtc.MimeTypeH264:
			if media.H264Keyframe(pkt.Payload) {
				rc.keyframes[key]++
			}
		}
		rc.mu.Unlock()
	}
}

func (rc *received) get(key string) (packets, keyframes, width int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.packets[key], rc.keyframes[key], rc.widths[key]
}

func pump(ctx context.Context, wg *sync.WaitGroup, t *testing.T, path string, w media.SampleWriter, skip func() bool) {
	src, err := media.OpenFile(path, 25)
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer src.Close()
		_ = media.Pump(ctx, src, w, skip)
	}()
}

func TestPublishSimulcastVP8(t *testing.T) {
	defer goleak.VerifyNone(t)
	rc := newReceived()
	srv := newFake(t, fakesfu.Config{OnPublishedTrack: rc.onTrack})
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()

	room, err := Connect(ctx, srv.URL, "teacher", WithAPI(loopbackAPI(t, false)), WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	files := []struct {
		rid, path string
		q         livekit.VideoQuality
		w, h, br  uint32
	}{
		{"q", "testdata/vp8_180p.ivf", livekit.VideoQuality_LOW, 320, 180, 150_000},
		{"h", "testdata/vp8_360p.ivf", livekit.VideoQuality_MEDIUM, 640, 360, 500_000},
		{"f", "testdata/vp8_720p.ivf", livekit.VideoQuality_HIGH, 1280, 720, 1_500_000},
	}
	var layers []SimulcastLayer
	var tracks []*webrtc.TrackLocalStaticSample
	for _, f := range files {
		tr, err := webrtc.NewTrackLocalStaticSample(codec, "cam", "stream", webrtc.WithRTPStreamID(f.rid))
		if err != nil {
			t.Fatal(err)
		}
		tracks = append(tracks, tr)
		layers = append(layers, SimulcastLayer{Track: tr, Quality: f.q, Width: f.w, Height: f.h, Bitrate: f.br})
	}
	lt, err := room.PublishSimulcast(ctx, layers, PublishOptions{Name: "camera"})
	if err != nil {
		t.Fatal(err)
	}
	if lt.SID() != "TR_cam" {
		t.Errorf("sid %q", lt.SID())
	}
	for i, f := range files {
		q := f.q
		pump(ctx, &pumps, t, f.path, tracks[i], func() bool { return !lt.LayerEnabled(q) || lt.Muted() })
	}
	waitFor(t, 15*time.Second, "all three layers with keyframes", func() bool {
		for _, f := range files {
			if _, k, _ := rc.get(f.rid); k == 0 {
				return false
			}
		}
		return true
	})
	for _, f := range files {
		if p, _, w := rc.get(f.rid); w != int(f.w) || p == 0 {
			t.Errorf("rid %s: %d packets, keyframe width %d, want %d", f.rid, p, w, f.w)
		}
	}
	add := firstAddTrack(srv.Session("teacher"))
	if add == nil || add.GetType() != livekit.TrackType_VIDEO || add.GetSource() != livekit.TrackSource_CAMERA ||
		len(add.GetLayers()) != 3 || add.GetWidth() != 1280 || len(add.GetSimulcastCodecs()) != 1 ||
		add.GetSimulcastCodecs()[0].GetCodec() != "vp8" || add.GetCid() != "cam" || add.GetName() != "camera" {
		t.Errorf("AddTrackRequest %v", add)
	}

	if err := lt.SetMuted(true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "mute request", func() bool {
		for _, r := range srv.Session("teacher").Requests() {
			if m := r.GetMute(); m != nil && m.GetSid() == "TR_cam" && m.GetMuted() {
				return true
			}
		}
		return false
	})
	if err := lt.Unpublish(); err != nil {
		t.Fatal(err)
	}
	cancel()
	pumps.Wait()
	room.Close()
	srv.Close()
}

func firstAddTrack(s *fakesfu.Session) *livekit.AddTrackRequest {
	for _, r := range s.Requests() {
		if a := r.GetAddTrack(); a != nil {
			return a
		}
	}
	return nil
}

func TestPublishH264AndOpus(t *testing.T) {
	defer goleak.VerifyNone(t)
	rc := newReceived()
	srv := newFake(t, fakesfu.Config{OnPublishedTrack: rc.onTrack, NotSubscriberPrimary: true})
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	room, err := Connect(ctx, srv.URL, "bot", WithAPI(loopbackAPI(t, false)), WithProtocol(17))
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	video, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "v", "s")
	audio, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "a", "s")
	if _, err := room.PublishTrack(ctx, video, PublishOptions{Width: 640, Height: 360}); err != nil {
		t.Fatal(err)
	}
	if _, err := room.PublishTrack(ctx, audio, PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	pump(ctx, &pumps, t, "testdata/h264_360p.h264", video, nil)
	pump(ctx, &pumps, t, "testdata/opus_48k.ogg", audio, nil)
	waitFor(t, 15*time.Second, "h264 keyframes and opus packets", func() bool {
		_, k, _ := rc.get(webrtc.MimeTypeH264)
		p, _, _ := rc.get(webrtc.MimeTypeOpus)
		return k > 0 && p > 10
	})
	if q := srv.Queries()[0]; q.Get("protocol") != "17" {
		t.Errorf("protocol %q", q.Get("protocol"))
	}
	cancel()
	pumps.Wait()
	room.Close()
	srv.Close()
}
