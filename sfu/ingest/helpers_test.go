package ingest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/pion/webrtc/v4"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/sfu/node"
)

const sdkTestdata = "../../client-sdk/go/testdata/"

func testLogger() *slog.Logger {
	if os.Getenv("INGEST_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startNode runs a dev node on free loopback ports with RTSP on a free
// port (TCP and UDP).
func startNode(t testing.TB, mutate func(*node.Config)) *node.Node {
	t.Helper()
	cfg := node.Defaults()
	cfg.Dev = true
	cfg.Port, cfg.RTC.UDPPort, cfg.RTC.TCPPort = 0, 0, 0
	cfg.Room.DepartureTimeout = 2 * time.Second
	cfg.Recorder.DataDir = ""
	zero := 0
	cfg.Ingest.RTSPPort = &zero
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(cfg, testLogger())
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
	if !g.IngressAdmin && !(g.RoomAdmin && g.Room == "") {
		g.RoomJoin, g.Room = true, roomName
	}
	jwt, err := auth.NewAccessToken("devkey", "secret").SetIdentity(identity).SetValidFor(time.Hour).SetVideoGrant(g).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

func grant(publish, subscribe bool) *auth.VideoGrant {
	g := &auth.VideoGrant{}
	g.SetCanPublish(publish)
	g.SetCanSubscribe(subscribe)
	return g
}

// loopbackSE is a pion setting engine that only uses 127.0.0.1.
func loopbackSE() *webrtc.SettingEngine {
	se := &webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	return se
}

var (
	apiOnce sync.Once
	apiVal  *client.API
)

func loopbackAPI(t testing.TB) *client.API {
	apiOnce.Do(func() {
		a, err := client.NewAPI(client.APIConfig{SettingEngine: loopbackSE()})
		if err != nil {
			t.Fatal(err)
		}
		apiVal = a
	})
	return apiVal
}

func connect(t testing.TB, ctx context.Context, n *node.Node, roomName, identity string, g *auth.VideoGrant, opts ...client.Option) *client.Room {
	t.Helper()
	opts = append([]client.Option{client.WithAPI(loopbackAPI(t)), client.WithLogger(testLogger())}, opts...)
	r, err := client.Connect(ctx, n.URL(), token(t, roomName, identity, g), opts...)
	if err != nil {
		t.Fatalf("%s connect: %v", identity, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// trackOf returns the subscribed track of kind from identity, or nil.
func trackOf(r *client.Room, identity, kind string) *client.RemoteTrack {
	for _, tr := range r.RemoteTracks() {
		if tr.ParticipantIdentity == identity && tr.Kind.String() == kind && !tr.Ended() {
			return tr
		}
	}
	return nil
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
	return 0
}

func needTool(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("%s not installed (scripts/install-test-deps.sh installs it): %v", n, err)
		}
	}
}

// ffmpegPublish runs ffmpeg publishing a test pattern (H.264) and a sine
// (audioCodec) to url over transport.
func ffmpegPublish(ctx context.Context, url, transport, audioCodec string, seconds int) *exec.Cmd {
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin",
		"-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
		"-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", fmt.Sprint(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-g", "25",
		"-c:a", audioCodec, "-b:a", "64k",
		"-f", "rtsp", "-rtsp_transport", transport, url}
	return exec.CommandContext(ctx, "ffmpeg", args...)
}

// httpDo sends a request with an optional bearer token.
func httpDo(t testing.TB, method, url, tok, ctype string, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func httpURL(n *node.Node) string { return "http://" + n.Addr().String() }
