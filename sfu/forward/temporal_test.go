package forward

import (
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
)

// TestTemporalRatesAndLimit: a VP8 stream with temporal layers (TIDs
// 0-2-1-2, as Chromium's L1T3) is priced per temporal layer — cumulative
// bitrates and frame rates rising with each TID — and a down track limited
// to TL0 forwards only TL0 frames, with continuous sequence numbers.
func TestTemporalRatesAndLimit(t *testing.T) {
	f := newFanout(t, 0)
	d := NewDownTrack(f.up, livekit.VideoQuality_LOW)
	sink := &padSink{}
	if err := d.Bind(sink, 0x4242, 96, 0, 0); err != nil {
		t.Fatal(err)
	}
	s := newVP8Stream(1)
	// About 1.5 s of 60 fps frames, paced so the monitor sees a steady stream.
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		for range 2 { // two frames per 33 ms tick
			s.writeRound(f.up)
		}
		time.Sleep(33 * time.Millisecond)
	}
	bps, fps, n := f.up.TemporalRates(0)
	if n != 3 {
		t.Fatalf("%d temporal layers seen, want 3 (bps %v fps %v)", n, bps, fps)
	}
	if !(0 < bps[0] && bps[0] < bps[1] && bps[1] < bps[2]) || !(0 < fps[0] && fps[0] < fps[1] && fps[1] < fps[2]) {
		t.Fatalf("temporal pricing not cumulative: bps %v fps %v", bps, fps)
	}
	t.Logf("TL0..2: %v bit/s, %v fps", bps[:3], fps[:3])

	// Limit to TL0: from the next frame only TID 0 goes out (1 frame in 4),
	// still numbered without gaps.
	d.SetMaxTemporal(0)
	before := len(sink.snapshot())
	for range 40 {
		s.writeRound(f.up)
	}
	time.Sleep(100 * time.Millisecond)
	got := sink.snapshot()[before:]
	frames := 0
	for i, p := range got {
		if p.marker {
			frames++
		}
		if i > 0 && p.seq != got[i-1].seq+1 {
			t.Fatalf("gap in the sequence after the temporal limit: %d then %d", got[i-1].seq, p.seq)
		}
	}
	if frames < 8 || frames > 12 {
		t.Errorf("%d frames forwarded out of 40 at TL0, want about 10", frames)
	}
	if d.MaxTemporal() != 0 {
		t.Errorf("MaxTemporal %d, want 0", d.MaxTemporal())
	}
}
