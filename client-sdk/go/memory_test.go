package client

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/classcast/classcast/client-sdk/go/internal/fakesfu"
	"github.com/classcast/classcast/client-sdk/go/media"
	"github.com/pion/webrtc/v4"
)

const helperEnv = "CLIENT_FAKESFU_HELPER"

// TestMain doubles as the fake-server process for BenchmarkSubscriberMemory, so the client's memory
// is measured without the server's peer connections in the same heap.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		runHelperServer()
		return
	}
	os.Exit(m.Run())
}

func runHelperServer() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	video, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "TR_v", "PA_pub|TR_v")
	audio, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "TR_a", "PA_pub|TR_a")
	for _, p := range []struct {
		t   *webrtc.TrackLocalStaticSample
		cfg media.SyntheticConfig
	}{{video, media.SyntheticConfig{FrameSize: 1000, Width: 640, Height: 360}}, {audio, media.SyntheticConfig{Audio: true}}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = media.Pump(ctx, media.NewSyntheticSource(p.cfg), p.t, nil)
		}()
	}
	srv, err := fakesfu.New(fakesfu.Config{Tracks: []fakesfu.ServerTrack{
		{Track: video, ParticipantSID: "PA_pub", Identity: "pub"},
		{Track: audio, ParticipantSID: "PA_pub", Identity: "pub"},
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes our stdin
	cancel()
	wg.Wait()
	srv.Close()
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// BenchmarkSubscriberMemory connects CLIENT_MEM_SUBSCRIBERS (default 50) subscribers, each receiving
// one synthetic VP8 (~200 kbit/s) and one synthetic Opus track from a fake server in a child process,
// with one shared receive-only API and AutoDrain, and reports heap+stack and goroutines per subscriber.
func BenchmarkSubscriberMemory(b *testing.B) {
	n := 50
	if v, err := strconv.Atoi(os.Getenv("CLIENT_MEM_SUBSCRIBERS")); err == nil && v > 0 {
		n = v
	}
	exe, _ := os.Executable()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	url = url[:len(url)-1]
	// CLIENT_MEM_FULL_API=1 measures the default (publishing) interceptor chain instead.
	api := loopbackAPI(b, os.Getenv("CLIENT_MEM_FULL_API") != "1")
	for b.Loop() {
		before, g0 := heapInUse(), runtime.NumGoroutine()
		rooms := make([]*Room, 0, n)
		for i := 0; i < n; i++ {
			r, err := Connect(context.Background(), url, fmt.Sprintf("sub%d", i), WithAPI(api), WithAutoDrain())
			if err != nil {
				b.Fatal(err)
			}
			rooms = append(rooms, r)
		}
		waitFor(b, 60*time.Second, "media on every subscriber", func() bool {
			for _, r := range rooms {
				tr := r.RemoteTracks()
				if len(tr) < 2 || tr[0].Stats().Packets == 0 || tr[1].Stats().Packets == 0 {
					return false
				}
			}
			return true
		})
		time.Sleep(3 * time.Second) // steady state: buffers grown, reports flowing
		after, g1 := heapInUse(), runtime.NumGoroutine()
		b.ReportMetric(float64(after-before)/float64(n), "bytes/subscriber")
		b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/subscriber")
		var lost, frames uint64
		for _, r := range rooms {
			for _, t := range r.RemoteTracks() {
				s := t.Stats()
				lost += s.SyntheticLost
				frames += s.SyntheticFrames
			}
		}
		b.ReportMetric(float64(lost)/float64(max(frames, 1)), "lost-frame-ratio")
		for _, r := range rooms {
			_ = r.Close()
		}
	}
}
