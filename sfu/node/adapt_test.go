package node

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/internal/netlab/netlabtest"
)

// audioWatch measures the longest silence on a subscriber's audio track.
type audioWatch struct {
	mu      sync.Mutex
	last    time.Time
	maxGap  time.Duration
	packets int
	paused  map[string]bool
}

func (a *audioWatch) onRTP(t *client.RemoteTrack, _ *rtp.Packet) {
	if t.Kind != webrtc.RTPCodecTypeAudio {
		return
	}
	now := time.Now()
	a.mu.Lock()
	if !a.last.IsZero() && now.Sub(a.last) > a.maxGap {
		a.maxGap = now.Sub(a.last)
	}
	a.last = now
	a.packets++
	a.mu.Unlock()
}

func (a *audioWatch) onStreamState(states []*livekit.StreamStateInfo) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range states {
		a.paused[s.TrackSid] = s.State == livekit.StreamState_PAUSED
	}
}

func (a *audioWatch) resetGap() (time.Duration, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g, n := a.maxGap, a.packets
	a.maxGap, a.packets = 0, 0
	return g, n
}

func (a *audioWatch) isPaused(sid string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.paused[sid]
}

// TestBandwidthAdaptationShaped: a rural classroom behind a real shaped link
// (tbf in a network namespace) gets the best layers its downlink sustains:
// lowest layer at 300 kbit/s, video paused but audio flowing at 80 kbit/s,
// back to the top layer when the cap is lifted, a fitting layer with NACK
// recovery under 5% loss — while a classroom on a good link is unaffected,
// and dynacast stops the top layer nobody needs. Times are logged, not
// asserted (they are benchmarks); the limits here only bound the test.
func TestBandwidthAdaptationShaped(t *testing.T) {
	if testing.Short() {
		t.Skip("shaped-link test takes about a minute")
	}
	t.Cleanup(func() { goleak.VerifyNone(t) })
	lab := netlabtest.New(t, "adapt")
	n := startNodeWith(t, func(c *Config) { c.Bind = lab.HostIP })
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()

	teacher := connect(t, ctx, n, "rural", "teacher", nil)
	video, _ := publishLesson(t, ctx, &pumps, teacher)
	good := connect(t, ctx, n, "rural", "class-good", nil, client.WithAutoDrain())
	waitFor(t, 10*time.Second, "good classroom subscribed", func() bool { return videoTrack(good) != nil })

	// The rural classroom's media socket lives in the shaped namespace.
	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(webrtc.NewICEUDPMux(nil, lab.ListenUDP()))
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api, err := client.NewAPI(client.APIConfig{SettingEngine: &se})
	if err != nil {
		t.Fatal(err)
	}
	aw := &audioWatch{paused: map[string]bool{}}
	rural, err := client.Connect(ctx, n.URL(), token(t, "rural", "class-rural", nil), client.WithAPI(api),
		client.WithAutoDrain(), client.WithLogger(testLogger()),
		client.WithCallbacks(client.Callbacks{OnRTP: aw.onRTP, OnStreamStateUpdate: aw.onStreamState}))
	if err != nil {
		t.Fatal(err)
	}
	defer rural.Close()
	waitFor(t, 10*time.Second, "rural subscribed", func() bool { return videoTrack(rural) != nil && audioTrack(rural) != nil })
	rv := videoTrack(rural)
	rm, _ := n.Rooms().Get("rural")
	part, _ := rm.Participant("class-rural")
	dt, _ := part.DownTrack(rv.SID)
	layer := func() int { return dt.CurrentLayer() }

	step := func(name string, within time.Duration, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		waitFor(t, within, name, cond)
		took := time.Since(start)
		snap, _ := part.Bandwidth()
		t.Logf("%-34s %6.1fs  (estimate %d kbit/s, layer %d)", name, took.Seconds(), snap.EstimateBps/1000, layer())
		return took
	}
	step("unshaped: top layer", 60*time.Second, func() bool { return layer() == 2 })
	goodFrames := func() uint64 { return videoTrack(good).Stats().Frames }

	lab.Shape("300kbit")
	aw.resetGap()
	g0 := goodFrames()
	step("300 kbit/s: lowest layer", 30*time.Second, func() bool { return layer() == 0 })
	// The link carries the lowest layer (150k) and audio: video keeps
	// flowing rather than pausing — also through the probes for the next
	// layer that fail on this link (the first comes after the 5 s
	// hold-down; each fills the 640 ms tbf buffer).
	f0 := rv.Stats().Frames
	var pausedAt time.Duration
	for start := time.Now(); time.Since(start) < 9*time.Second; time.Sleep(100 * time.Millisecond) {
		if pausedAt == 0 && aw.isPaused(rv.SID) {
			pausedAt = time.Since(start)
		}
	}
	if gap, pk := aw.resetGap(); pk == 0 || gap > time.Second {
		t.Errorf("audio interrupted at 300 kbit/s: %d packets, longest gap %v", pk, gap)
	}
	switch f := rv.Stats().Frames - f0; {
	case raceBuild:
		// Under the race detector on a loaded runner, CPU starvation reads
		// as queueing: only require that video was not dead throughout.
		t.Logf("300 kbit/s (race build): %d frames in 9 s, paused after %v", f, pausedAt)
		if f < 9 {
			t.Errorf("video at 300 kbit/s: %d frames in 9 s — want the lowest layer flowing", f)
		}
	case f < 9*3 || pausedAt != 0:
		t.Errorf("video at 300 kbit/s: %d frames in 9 s, paused after %v — want the lowest layer flowing", f, pausedAt)
	default:
		t.Logf("300 kbit/s: %d frames in 9 s on the lowest layer", f)
	}

	lab.Shape("80kbit")
	var pausedSince time.Time
	step("80 kbit/s: video paused", 30*time.Second, func() bool {
		if !aw.isPaused(rv.SID) {
			pausedSince = time.Time{}
			return false
		}
		if pausedSince.IsZero() {
			pausedSince = time.Now()
		}
		return time.Since(pausedSince) > 2*time.Second // paused, and staying paused
	})
	aw.resetGap()
	time.Sleep(3 * time.Second)
	if gap, pk := aw.resetGap(); pk < 50 || gap > 1500*time.Millisecond {
		t.Errorf("audio while video paused: %d packets, longest gap %v", pk, gap)
	}

	lab.Shape("")
	step("cap lifted: resumed", 60*time.Second, func() bool { return !aw.isPaused(rv.SID) })
	step("cap lifted: top layer", 60*time.Second, func() bool { return layer() == 2 })

	lab.Shape("2mbit")
	lab.Loss(5)
	time.Sleep(8 * time.Second)
	before := rv.Stats()
	time.Sleep(5 * time.Second)
	after := rv.Stats()
	snap, _ := part.Bandwidth()
	t.Logf("2 Mbit/s + 5%% loss: layer %d, estimate %d kbit/s, %d frames in 5 s", layer(), snap.EstimateBps/1000, after.Frames-before.Frames)
	if after.Frames-before.Frames < 25 {
		t.Errorf("video starved at 2 Mbit/s with 5%% loss: %d frames in 5 s", after.Frames-before.Frames)
	}
	lab.Loss(0)
	lab.Shape("")

	if gf := goodFrames() - g0; gf < 200 {
		t.Errorf("the classroom on a good link got only %d frames while the rural one struggled", gf)
	}
	if d, _ := n.Rooms().Get("rural"); d != nil {
		gp, _ := d.Participant("class-good")
		if gdt, ok := gp.DownTrack(videoTrack(good).SID); ok && gdt.CurrentLayer() != 2 {
			t.Errorf("good classroom left the top layer (now %d)", gdt.CurrentLayer())
		}
	}

	// Dynacast: nobody wants the top layer → the publisher stops sending it.
	for _, r := range []*client.Room{good, rural} {
		if err := videoTrack(r).SetSettings(client.TrackSettings{Quality: livekit.VideoQuality_LOW}); err != nil {
			t.Fatal(err)
		}
	}
	step("dynacast: top layer off", 20*time.Second, func() bool { return !video.LayerEnabled(livekit.VideoQuality_HIGH) })
	if err := videoTrack(good).SetSettings(client.TrackSettings{Quality: livekit.VideoQuality_HIGH}); err != nil {
		t.Fatal(err)
	}
	step("dynacast: top layer back", 20*time.Second, func() bool { return video.LayerEnabled(livekit.VideoQuality_HIGH) })
}
