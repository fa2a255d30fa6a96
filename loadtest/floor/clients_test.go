package floor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/client-sdk/go/media"
)

// The child process of BenchmarkFullStack: a publisher and N subscribers.
// It prints "ready" once every subscriber receives video, then answers each
// "mark" line on stdin with "cpu <process CPU ns> <packets received>" and
// leaves when stdin closes.

var errNotReady = errors.New("subscribers not receiving")

func runClients() int {
	if err := clients(); err != nil {
		fmt.Fprintln(os.Stderr, "fullstack clients:", err)
		return 1
	}
	return 0
}

func benchToken(identity string) (string, error) {
	g := &auth.VideoGrant{RoomJoin: true, Room: fsRoom}
	return auth.NewAccessToken("devkey", "secret").SetIdentity(identity).
		SetValidFor(time.Hour).SetVideoGrant(g).ToJWT()
}

func loopbackSettings() *webrtc.SettingEngine {
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	return &se
}

func clients() error {
	url := os.Getenv(childURL)
	n, err := strconv.Atoi(os.Getenv(childN))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.DiscardHandler)

	pubAPI, err := client.NewAPI(client.APIConfig{SettingEngine: loopbackSettings()})
	if err != nil {
		return err
	}
	// Not ReceiveOnly: like browsers, the subscribers negotiate the
	// transport-cc header extension, so the server's send path numbers
	// every packet for congestion control as it does in production.
	subAPI := pubAPI
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	pub, err := publish(ctx, url, pubAPI, log, &pumps)
	if err != nil {
		return err
	}
	defer func() { _ = pub.Close() }()

	subs, err := subscribe(ctx, url, subAPI, log, n)
	defer func() {
		for _, r := range subs {
			_ = r.Close()
		}
	}()
	if err != nil {
		return err
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var recv uint64
		for _, r := range subs {
			for _, t := range r.RemoteTracks() {
				recv += t.Stats().Packets
			}
		}
		fmt.Printf("cpu %d %d\n", processCPU(), recv)
	}
	return nil
}

// publish sends 3-layer VP8 simulcast of synthetic frames at 30 fps: about
// 1, 2 and 8 packets per frame on q, h and f (pion packetizes at 1,200
// bytes), a keyframe (4× larger) every 2 s.
func publish(ctx context.Context, url string, api *client.API, log *slog.Logger, pumps *sync.WaitGroup) (*client.Room, error) {
	tok, err := benchToken("teacher")
	if err != nil {
		return nil, err
	}
	r, err := client.Connect(ctx, url, tok, client.WithAPI(api), client.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("publisher connect: %w", err)
	}
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	spec := []struct {
		rid       string
		q         livekit.VideoQuality
		w, h      uint32
		frameSize int
	}{
		{"q", livekit.VideoQuality_LOW, 320, 180, 1100},
		{"h", livekit.VideoQuality_MEDIUM, 640, 360, 2200},
		{"f", livekit.VideoQuality_HIGH, 1280, 720, 8800},
	}
	var layers []client.SimulcastLayer
	var tracks []*webrtc.TrackLocalStaticSample
	for _, s := range spec {
		tr, err := webrtc.NewTrackLocalStaticSample(codec, "cam", "teacher", webrtc.WithRTPStreamID(s.rid))
		if err != nil {
			return r, err
		}
		tracks = append(tracks, tr)
		layers = append(layers, client.SimulcastLayer{Track: tr, Quality: s.q, Width: s.w, Height: s.h,
			Bitrate: uint32(s.frameSize * 8 * 30)})
	}
	if _, err := r.PublishSimulcast(ctx, layers, client.PublishOptions{Name: "camera", Source: livekit.TrackSource_CAMERA}); err != nil {
		return r, fmt.Errorf("publish: %w", err)
	}
	for i, s := range spec {
		src := media.NewSyntheticSource(media.SyntheticConfig{FPS: 30, KeyframeInterval: 60,
			Width: int(s.w), Height: int(s.h), FrameSize: s.frameSize})
		pumps.Add(1)
		go func(tr *webrtc.TrackLocalStaticSample) {
			defer pumps.Done()
			_ = media.Pump(ctx, src, tr, nil)
		}(tracks[i])
	}
	return r, nil
}

// subscribe connects n receive-only subscribers, ten at a time, and waits
// until each receives video.
func subscribe(ctx context.Context, url string, api *client.API, log *slog.Logger, n int) ([]*client.Room, error) {
	subs := make([]*client.Room, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 10)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			tok, err := benchToken(fmt.Sprintf("student-%d", i))
			if err != nil {
				errs[i] = err
				return
			}
			subs[i], errs[i] = client.Connect(ctx, url, tok, client.WithAPI(api), client.WithLogger(log),
				client.WithAutoDrain())
		}(i)
	}
	wg.Wait()
	var ok []*client.Room
	for i, r := range subs {
		if errs[i] != nil {
			return ok, fmt.Errorf("subscriber %d: %w", i, errs[i])
		}
		ok = append(ok, r)
	}
	deadline := time.Now().Add(fsReadyMax)
	for time.Now().Before(deadline) {
		if receiving(ok) == len(ok) {
			return ok, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return ok, fmt.Errorf("%w: %d of %d", errNotReady, receiving(ok), len(ok))
}

func receiving(rooms []*client.Room) int {
	c := 0
	for _, r := range rooms {
		for _, t := range r.RemoteTracks() {
			if t.Kind == webrtc.RTPCodecTypeVideo && t.Stats().Packets > 0 {
				c++
				break
			}
		}
	}
	return c
}
