package bwe

import (
	"fmt"
	"testing"
	"time"

	"github.com/classcast/classcast/sfu/allocator"
)

// The whole decision loop as the core will run it, over the simulated link:
// estimator → allocator.Subscriber every 100 ms → forwarded layers (switched
// when the keyframe arrives, 300 ms after it is asked for) → media rate;
// the allocator's probe requests become padding and StartProbe, and probe
// results go back to the allocator.

type tick struct {
	at       time.Duration
	estimate int
	media    int
	cam, wb  string
	micOn    bool
}

type keyframeEvent struct {
	at      time.Time
	track   string
	spatial int
}

type allocSender struct {
	sub        *allocator.Subscriber
	tracks     []allocator.Track
	began      time.Time
	now        time.Time
	nextTick   time.Time
	media      float64
	padding    float64
	probeUntil time.Time
	keyframes  []keyframeEvent
	ticks      []tick
}

func newAllocSender() *allocSender {
	mic := allocator.Track{ID: "mic", Kind: allocator.KindAudio, Class: allocator.ClassAudio}
	mic.Bitrates[0][0] = 24_000
	wb := allocator.Track{ID: "wb", Kind: allocator.KindVideo, Class: allocator.ClassScreen}
	wb.Bitrates[0][0], wb.Bitrates[1][0] = 80_000, 200_000
	cam := allocator.Track{ID: "cam", Kind: allocator.KindVideo, Class: allocator.ClassMasterCamera,
		Bitrates: [allocator.MaxSpatial][allocator.MaxTemporal]int{
			{60_000, 100_000, 150_000}, {200_000, 350_000, 500_000}, {600_000, 1_000_000, 1_500_000},
		}}
	return &allocSender{
		sub:    allocator.NewSubscriber(allocator.SubscriberConfig{}),
		tracks: []allocator.Track{mic, wb, cam},
	}
}

func (s *allocSender) start(est *Estimator, res *simResult) {
	est.OnProbeResult(func(r ProbeResult) {
		if r.Confirmed {
			res.probesOK++
		}
		s.sub.OnProbeResult(s.now, r.Confirmed)
	})
}

func (s *allocSender) rate(now time.Time, est *Estimator, res *simResult) float64 {
	if s.began.IsZero() {
		s.began, s.nextTick = now, now
	}
	s.now = now
	kept := s.keyframes[:0]
	for _, k := range s.keyframes {
		if k.at.After(now) {
			kept = append(kept, k)
			continue
		}
		_, _ = s.sub.OnKeyframe(k.track, k.spatial)
	}
	s.keyframes = kept
	if !now.Before(s.nextTick) {
		s.nextTick = s.nextTick.Add(100 * time.Millisecond)
		s.onTick(now, est, res)
	}
	if now.Before(s.probeUntil) {
		return s.media + s.padding
	}
	return s.media
}

func (s *allocSender) onTick(now time.Time, est *Estimator, res *simResult) {
	e := est.Estimate()
	dec := s.sub.Update(now, e, s.tracks)
	tk := tick{at: now.Sub(s.began), estimate: e}
	s.media = 0
	for i, td := range dec.Tracks {
		tr := &s.tracks[i]
		if td.RequestKeyframe {
			s.keyframes = append(s.keyframes, keyframeEvent{now.Add(300 * time.Millisecond), tr.ID, td.Target.Layer.Spatial})
		}
		desc := "paused"
		if td.Forwarding {
			s.media += float64(tr.Bitrates[td.Current.Spatial][td.Current.Temporal])
			desc = fmt.Sprintf("s%dt%d", td.Current.Spatial, td.Current.Temporal)
		}
		switch tr.ID {
		case "mic":
			tk.micOn = td.Forwarding
		case "wb":
			tk.wb = desc
		case "cam":
			tk.cam = desc
		}
	}
	tk.media = int(s.media)
	s.ticks = append(s.ticks, tk)
	if p := dec.Probe; p != nil {
		est.StartProbe(p.TargetBps, p.Duration, now)
		s.probeUntil, s.padding = now.Add(p.Duration), float64(p.PaddingBps)
		res.probes++
	}
}

// share is the fraction of ticks in [from, to) for which ok holds.
func (s *allocSender) share(from, to time.Duration, ok func(tick) bool) float64 {
	n, good := 0, 0
	for _, tk := range s.ticks {
		if tk.at >= from && tk.at < to {
			n++
			if ok(tk) {
				good++
			}
		}
	}
	return float64(good) / float64(max(n, 1))
}

func (s *allocSender) camChanges(from, to time.Duration) int {
	changes, last := 0, ""
	for _, tk := range s.ticks {
		if tk.at >= from && tk.at < to {
			if last != "" && tk.cam != last {
				changes++
			}
			last = tk.cam
		}
	}
	return changes
}

func TestSimAllocatorLoop(t *testing.T) {
	t.Parallel()
	snd := newAllocSender()
	r := simulate(t, []phase{
		{until: 25 * time.Second, rateBps: 300_000},
		{until: 45 * time.Second, rateBps: 80_000},
		{until: 90 * time.Second, rateBps: 2_000_000},
	}, snd, quietConfig())

	micAlways := snd.share(0, 90*time.Second, func(tk tick) bool { return tk.micOn })
	fits300 := snd.share(5*time.Second, 25*time.Second, func(tk tick) bool { return tk.media <= 300_000 })
	videoOff80 := snd.share(28*time.Second, 45*time.Second, func(tk tick) bool { return tk.cam == "paused" && tk.wb == "paused" })
	fits80 := snd.share(28*time.Second, 45*time.Second, func(tk tick) bool { return tk.media <= 80_000 })
	camFull := time.Duration(-1)
	for _, tk := range snd.ticks {
		if tk.at >= 45*time.Second && tk.cam[:2] == "s2" && tk.wb == "s1t0" {
			camFull = tk.at - 45*time.Second
			break
		}
	}
	changes := snd.camChanges(10*time.Second, 25*time.Second)
	_, _, mean300 := r.stats(10*time.Second, 25*time.Second)
	t.Logf("mic forwarded %.0f%% of ticks; 300k: media ≤ link %.0f%% of ticks, estimate mean %d, camera layer changes 10–25 s: %d; "+
		"80k: video paused %.0f%%, media ≤ link %.0f%%; 2M: camera at f %v after the lift; probes %d/%d confirmed",
		100*micAlways, 100*fits300, mean300, changes, 100*videoOff80, 100*fits80, camFull, r.probesOK, r.probes)
	for _, tk := range snd.ticks {
		if tk.at%(5*time.Second) == 0 {
			t.Logf("%4.0fs estimate %7d media %7d wb %-6s cam %-6s", tk.at.Seconds(), tk.estimate, tk.media, tk.wb, tk.cam)
		}
	}
	if micAlways < 1 {
		t.Errorf("audio was paused")
	}
	if fits300 < 0.9 {
		t.Errorf("on the 300k link media fit only %.0f%% of ticks", 100*fits300)
	}
	if videoOff80 < 0.9 || fits80 < 0.9 {
		t.Errorf("on the 80k link video paused %.0f%%, media fit %.0f%%", 100*videoOff80, 100*fits80)
	}
	if camFull < 0 || camFull > 30*time.Second {
		t.Errorf("camera reached f %v after the link opened, want within 30 s", camFull)
	}
	if changes > 4 {
		t.Errorf("camera changed layer %d times in 15 s on a steady link", changes)
	}
}

// TestSimThinLinkDeepBufferKeepsLowestLayer: the shaped-link case of the
// integration test (tc tbf at 300 kbit/s with a 16 KB burst and 200 ms
// latency holds ~640 ms of queue). A camera without temporal layers whose
// lowest layer plus audio nearly fills the link must end up on that layer
// and stay there: the first cut answers the overload, and neither the
// loss of packets sent before it nor the seconds the deep queue takes to
// drain may cut again until the camera pauses.
func TestSimThinLinkDeepBufferKeepsLowestLayer(t *testing.T) {
	t.Parallel()
	snd := newAllocSender()
	mic := allocator.Track{ID: "mic", Kind: allocator.KindAudio, Class: allocator.ClassAudio}
	mic.Bitrates[0][0] = 60_000
	cam := allocator.Track{ID: "cam", Kind: allocator.KindVideo, Class: allocator.ClassMasterCamera}
	cam.Bitrates[0][0], cam.Bitrates[1][0], cam.Bitrates[2][0] = 150_000, 500_000, 1_500_000
	snd.tracks = []allocator.Track{mic, cam}
	r := simulate(t, []phase{
		{until: 10 * time.Second, rateBps: 2_500_000},
		{until: 40 * time.Second, rateBps: 300_000, queue: 640 * time.Millisecond},
	}, snd, quietConfig())
	onLow := time.Duration(-1)
	for _, tk := range snd.ticks {
		if tk.at >= 10*time.Second && tk.cam == "s0t0" {
			onLow = tk.at - 10*time.Second
			break
		}
	}
	flowing := snd.share(13*time.Second, 40*time.Second, func(tk tick) bool { return tk.cam != "paused" })
	lo, _, mean := r.stats(13*time.Second, 40*time.Second)
	t.Logf("2.5M → 300k (640 ms buffer) at 10 s: camera on the lowest layer after %v; flowing %.0f%% of 13–40 s; estimate min %d mean %d; max queue %v",
		onLow, 100*flowing, lo, mean, r.queueMax)
	for _, tk := range snd.ticks {
		if tk.at >= 9*time.Second && tk.at <= 20*time.Second && tk.at%time.Second == 0 {
			t.Logf("%4.0fs estimate %7d media %7d cam %-6s", tk.at.Seconds(), tk.estimate, tk.media, tk.cam)
		}
	}
	if onLow < 0 || onLow > 3*time.Second {
		t.Errorf("camera on the lowest layer %v after the cap, want within 3 s", onLow)
	}
	if flowing < 0.95 {
		t.Errorf("camera flowing only %.0f%% of the time on a link that carries it", 100*flowing)
	}
}
