package forward

import "testing"

// TestForwardDoesNotAllocate fails if the steady-state forwarding path
// (UpTrack.WriteRTP → writer group → DownTrack munging → RTPWriter)
// allocates. Each run writes one packet and waits until every subscriber of
// its layer has it, so the writer goroutines' allocations are counted too.
func TestForwardDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	f := newFanout(t, 12)
	s := newVP8Stream(MaxLayers)
	for i := 0; i < 300; i++ { // past the first keyframe: every track on its layer
		l, raw, p := s.next()
		f.up.WriteRTP(l, raw, p)
		f.throttle()
	}
	f.drain(0)
	per := f.perLayer()
	for l := range per {
		if per[l] == 0 {
			t.Fatalf("no subscriber on layer %d", l)
		}
	}
	want := f.sent()
	for _, d := range f.downs {
		if d.CurrentLayer() != d.TargetLayer() {
			t.Fatalf("down track still switching: current %d target %d", d.CurrentLayer(), d.TargetLayer())
		}
	}
	// 1,000 runs span at least one keyframe (every 60 frames, ~690 packets).
	allocs := testing.AllocsPerRun(1000, func() {
		l, raw, p := s.next()
		want += uint64(per[l])
		f.up.WriteRTP(l, raw, p)
		f.drain(want)
	})
	if allocs != 0 {
		t.Fatalf("forwarding allocates %.2f times per packet, want 0", allocs)
	}
	if got := f.sent(); got != want {
		t.Fatalf("sinks got %d packets, want %d", got, want)
	}
}
