package client

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/classcast/classcast/client-sdk/go/internal/fakesfu"
	"github.com/classcast/classcast/client-sdk/go/media"
	"github.com/pion/webrtc/v4"
)

// loopbackAPI is a client API restricted to 127.0.0.1, shared by the tests.
func loopbackAPI(t testing.TB, receiveOnly bool) *API {
	t.Helper()
	se := webrtc.SettingEngine{}
	fakesfu.LoopbackOnly(&se)
	api, err := NewAPI(APIConfig{SettingEngine: &se, ReceiveOnly: receiveOnly})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func testLogger() *slog.Logger {
	if os.Getenv("CLIENT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newFake(t testing.TB, cfg fakesfu.Config) *fakesfu.Server {
	t.Helper()
	srv, err := fakesfu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// syntheticServerTrack is a VP8 synthetic track the fake server offers, pumped until the test ends.
func syntheticServerTrack(t testing.TB, ctx context.Context, wg *sync.WaitGroup, cfg media.SyntheticConfig) fakesfu.ServerTrack {
	t.Helper()
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		"TR_synth", "PA_pub|TR_synth")
	if err != nil {
		t.Fatal(err)
	}
	src := media.NewSyntheticSource(cfg)
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = media.Pump(ctx, src, track, nil)
	}()
	return fakesfu.ServerTrack{Track: track, ParticipantSID: "PA_pub", Identity: "pub"}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}
