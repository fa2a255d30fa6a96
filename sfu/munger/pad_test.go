package munger

import "testing"

// in is a packet of source 0 with sequence number seq (timestamps do not matter here).
func in(seq uint16) In {
	return In{Seq: seq, TS: uint32(seq) * 3000, Marker: true, ClockRate: videoHz}
}

func TestPadNumbersAfterNewestAndShiftsLaterPackets(t *testing.T) {
	for _, start := range startSeqs {
		m := New()
		first := in(start)
		first.Switch = true
		base := mustRewrite(t, m, first).Seq
		mustRewrite(t, m, in(start+1))
		mustRewrite(t, m, in(start+3)) // start+2 is late
		p1, ok1 := m.Pad()
		p2, ok2 := m.Pad()
		if !ok1 || !ok2 || p1.Seq != base+4 || p2.Seq != base+5 {
			t.Fatalf("start %d: pads %d,%d (%v %v), want %d,%d", start, p1.Seq, p2.Seq, ok1, ok2, base+4, base+5)
		}
		if got := mustRewrite(t, m, in(start+2)).Seq; got != base+2 {
			t.Errorf("start %d: late packet numbered %d, want its own %d", start, got, base+2)
		}
		if got := mustRewrite(t, m, in(start+4)).Seq; got != base+6 {
			t.Errorf("start %d: packet after the padding numbered %d, want %d", start, got, base+6)
		}
		if _, _, ok := m.Lookup(p1.Seq); ok {
			t.Errorf("start %d: Lookup found a source packet for padding %d", start, p1.Seq)
		}
		if inSeq, _, ok := m.Lookup(base + 6); !ok || inSeq != start+4 {
			t.Errorf("start %d: Lookup(%d) = %d %v, want %d", start, base+6, inSeq, ok, start+4)
		}
		if inSeq, _, ok := m.Lookup(base + 2); !ok || inSeq != start+2 {
			t.Errorf("start %d: Lookup(%d) = %d %v, want %d", start, base+2, inSeq, ok, start+2)
		}
	}
}

func TestPadWhilePausedThenSwitch(t *testing.T) {
	m := New()
	first := in(100)
	first.Switch = true
	mustRewrite(t, m, first)
	last := mustRewrite(t, m, in(101))
	for i := range 10 {
		p, ok := m.Pad()
		if !ok || p.Seq != last.Seq+uint16(i)+1 || p.TS != last.TS {
			t.Fatalf("pad %d = %+v %v", i, p, ok)
		}
	}
	// Resume on another layer at a keyframe: numbering continues after the padding.
	sw := In{Seq: 9000, TS: 555, Marker: true, ClockRate: videoHz, Source: 1, Switch: true}
	if got := mustRewrite(t, m, sw).Seq; got != last.Seq+11 {
		t.Errorf("after padding, switch numbered %d, want %d", got, last.Seq+11)
	}
}

func TestPadThenDropKeepsNumbersUnique(t *testing.T) {
	m := New()
	first := in(0)
	first.Switch = true
	mustRewrite(t, m, first) // out 0
	pad, _ := m.Pad()        // out 1
	if !m.Drop(1) {          // taken out of the numbering (e.g. a padding-only source packet)
		t.Fatal("Drop(1) refused")
	}
	got := mustRewrite(t, m, in(2)).Seq
	if got == pad.Seq || got != pad.Seq+1 {
		t.Errorf("packet after pad and drop numbered %d (pad %d), want %d", got, pad.Seq, pad.Seq+1)
	}
}

func TestPadBeforeStartRefused(t *testing.T) {
	if _, ok := New().Pad(); ok {
		t.Error("Pad before the first packet")
	}
}

// A stream whose drop history is full (temporal layers dropped for a thin
// link: one range per dropped frame) must still take padding, or probing
// stops for good and a camera paused for bandwidth never resumes.
func TestPadWithFullDropHistory(t *testing.T) {
	m := New()
	first := in(0)
	first.Switch = true
	mustRewrite(t, m, first)
	var last Out
	for k := uint16(1); k < 400; k += 2 {
		if !m.Drop(k) {
			t.Fatalf("Drop(%d) refused", k)
		}
		last = mustRewrite(t, m, in(k+1))
	}
	next := uint16(401)
	for i := range 3 * maxRanges {
		p, ok := m.Pad()
		if !ok || p.Seq != last.Seq+1 {
			t.Fatalf("pad %d with a full history: %+v %v, want seq %d", i, p, ok, last.Seq+1)
		}
		if i%2 == 0 { // media between the pads, as probes go between frames
			last = mustRewrite(t, m, in(next))
			next++
			if last.Seq != p.Seq+1 {
				t.Fatalf("media after pad %d numbered %d, want %d", i, last.Seq, p.Seq+1)
			}
		} else {
			last = p
		}
	}
}
