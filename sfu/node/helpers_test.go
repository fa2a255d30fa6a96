package node

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/client-sdk/go/media"
)

const testdata = "../../client-sdk/go/testdata/"

func testLogger() *slog.Logger {
	if os.Getenv("NODE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startNode runs a dev node on free loopback ports.
func startNode(t testing.TB) *Node { return startNodeWith(t, nil) }

// startNodeWith runs a dev node after tweak changed its configuration.
func startNodeWith(t testing.TB, tweak func(*Config)) *Node {
	t.Helper()
	cfg := Defaults()
	cfg.Dev = true
	cfg.Port, cfg.RTC.UDPPort, cfg.RTC.TCPPort = 0, 0, 0
	cfg.Room.DepartureTimeout = 2 * time.Second
	if tweak != nil {
		tweak(&cfg)
	}
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	n, err := Start(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.Close(ctx)
	})
	return n
}

func token(t testing.TB, roomName, identity string, g *auth.VideoGrant) string {
	t.Helper()
	if g == nil {
		g = &auth.VideoGrant{}
	}
	g.RoomJoin, g.Room = true, roomName
	jwt, err := auth.NewAccessToken("devkey", "secret").SetIdentity(identity).SetValidFor(time.Hour).SetVideoGrant(g).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

var (
	apiOnce sync.Once
	apiVal  *client.API
)

// loopbackAPI is one shared client API that only uses 127.0.0.1.
func loopbackAPI(t testing.TB) *client.API {
	apiOnce.Do(func() {
		se := webrtc.SettingEngine{}
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		a, err := client.NewAPI(client.APIConfig{SettingEngine: &se})
		if err != nil {
			t.Fatal(err)
		}
		apiVal = a
	})
	return apiVal
}

func connect(t testing.TB, ctx context.Context, n *Node, roomName, identity string, g *auth.VideoGrant, opts ...client.Option) *client.Room {
	t.Helper()
	opts = append([]client.Option{client.WithAPI(loopbackAPI(t)), client.WithLogger(testLogger())}, opts...)
	r, err := client.Connect(ctx, n.URL(), token(t, roomName, identity, g), opts...)
	if err != nil {
		t.Fatalf("%s connect: %v", identity, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// publishLesson publishes 3-layer VP8 simulcast from files plus Opus audio,
// pumping media until ctx ends.
func publishLesson(t testing.TB, ctx context.Context, wg *sync.WaitGroup, r *client.Room) (video, audio *client.LocalTrack) {
	t.Helper()
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	files := []struct {
		rid, path string
		q         livekit.VideoQuality
		w, h, br  uint32
	}{
		{"q", testdata + "vp8_180p.ivf", livekit.VideoQuality_LOW, 320, 180, 150_000},
		{"h", testdata + "vp8_360p.ivf", livekit.VideoQuality_MEDIUM, 640, 360, 500_000},
		{"f", testdata + "vp8_720p.ivf", livekit.VideoQuality_HIGH, 1280, 720, 1_500_000},
	}
	var layers []client.SimulcastLayer
	var tracks []*webrtc.TrackLocalStaticSample
	for _, f := range files {
		tr, err := webrtc.NewTrackLocalStaticSample(codec, "cam", "master", webrtc.WithRTPStreamID(f.rid))
		if err != nil {
			t.Fatal(err)
		}
		tracks = append(tracks, tr)
		layers = append(layers, client.SimulcastLayer{Track: tr, Quality: f.q, Width: f.w, Height: f.h, Bitrate: f.br})
	}
	video, err := r.PublishSimulcast(ctx, layers, client.PublishOptions{Name: "camera", Source: livekit.TrackSource_CAMERA})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		q := f.q
		// Like a browser, stop encoding a layer dynacast says nobody needs.
		pumpSkip(t, ctx, wg, f.path, tracks[i], func() bool { return !video.LayerEnabled(q) })
	}
	at, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "master")
	if err != nil {
		t.Fatal(err)
	}
	audio, err = r.PublishTrack(ctx, at, client.PublishOptions{Name: "mic", Source: livekit.TrackSource_MICROPHONE})
	if err != nil {
		t.Fatal(err)
	}
	pump(t, ctx, wg, testdata+"opus_48k.ogg", at)
	return video, audio
}

func pump(t testing.TB, ctx context.Context, wg *sync.WaitGroup, path string, w media.SampleWriter) {
	t.Helper()
	pumpSkip(t, ctx, wg, path, w, nil)
}

// pumpSkip is pump that sends nothing while skip says so (dynacast).
func pumpSkip(t testing.TB, ctx context.Context, wg *sync.WaitGroup, path string, w media.SampleWriter, skip func() bool) {
	t.Helper()
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

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
}
