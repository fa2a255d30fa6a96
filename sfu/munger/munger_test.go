package munger

import (
	"testing"
)

const (
	ms       = int64(1e6)
	videoHz  = 90000
	frameDur = 33 * ms
)

var startSeqs = []uint16{0, 1, 0x7fff, 0x8000, 0xfff0, 0xfffe, 0xffff}
var startTSs = []uint32{0, 12345, 0x7fffffff, 0xfffff000, 0xffffffff}

func TestTicks(t *testing.T) {
	cases := []struct {
		nanos int64
		rate  uint32
		want  uint32
	}{
		{0, videoHz, 0},
		{-5 * ms, videoHz, 0},
		{frameDur, videoHz, 2970},
		{5_000 * ms, videoHz, 450000},
		{5_000 * ms, 48000, 240000},
		{20 * ms, 48000, 960},
		{1, videoHz, 0},
		{48 * 3600 * 1_000 * ms, videoHz, uint32(uint64(48*3600) * videoHz % (1 << 32))},
		{ms, 0, 0},
	}
	for _, tc := range cases {
		if got := ticks(tc.nanos, tc.rate); got != tc.want {
			t.Errorf("ticks(%d, %d) = %d, want %d", tc.nanos, tc.rate, got, tc.want)
		}
	}
}

// sender generates one source's packets: one packet per frame unless told.
type sender struct {
	source uint8
	seq    uint16
	ts     uint32
}

func (s *sender) next(arrival int64) In {
	p := In{Seq: s.seq, TS: s.ts, Marker: true, ArrivalNanos: arrival, ClockRate: videoHz, Source: s.source}
	s.seq++
	s.ts += 3000
	return p
}

func mustRewrite(t *testing.T, m *Munger, p In) Out {
	t.Helper()
	out, ok := m.Rewrite(p)
	if !ok {
		t.Fatalf("Rewrite(%+v) refused", p)
	}
	return out
}

// TestSwitchSweep switches between three sources whose numbering starts at
// every interesting point, and checks that the output stays one stream:
// sequence numbers +1 each packet, timestamps +3000 within a source and
// +elapsed×rate across a switch, with no refusals.
func TestSwitchSweep(t *testing.T) {
	for _, seqA := range startSeqs {
		for _, tsB := range startTSs {
			m := New()
			srcs := []*sender{
				{source: 0, seq: seqA, ts: 0xffffff00},
				{source: 1, seq: seqA + 0x8000, ts: tsB},
				{source: 2, seq: 0xffff - seqA, ts: tsB ^ 0x80000000},
			}
			now := int64(0)
			var prev Out
			cur := 0
			for k := range 200 {
				sw := k == 0 || k%17 == 0
				if sw && k > 0 {
					cur = (cur + 1 + k%2) % len(srcs)
				}
				// Every source keeps running while not selected.
				var p In
				for i, s := range srcs {
					q := s.next(now)
					if i == cur {
						p = q
					}
				}
				p.Switch = sw
				out := mustRewrite(t, m, p)
				if k > 0 {
					if out.Seq != prev.Seq+1 {
						t.Fatalf("seqA %d tsB %d k %d: seq %d after %d", seqA, tsB, k, out.Seq, prev.Seq)
					}
					wantTS := prev.TS + 3000
					if sw {
						wantTS = prev.TS + 2970 // 33 ms at 90 kHz
					}
					if out.TS != wantTS {
						t.Fatalf("seqA %d tsB %d k %d: ts %d after %d, want %d", seqA, tsB, k, out.TS, prev.TS, wantTS)
					}
				}
				prev = out
				now += frameDur
			}
		}
	}
}

func TestFirstPacketKeepsNumbering(t *testing.T) {
	m := New()
	out := mustRewrite(t, m, In{Seq: 4242, TS: 99, ClockRate: videoHz})
	if out != (Out{Seq: 4242, TS: 99}) {
		t.Errorf("first packet rewritten to %+v", out)
	}
	if _, _, ok := New().Last(); ok {
		t.Error("Last ok before any packet")
	}
}

func TestRefusesBeforeSwitch(t *testing.T) {
	for _, start := range startSeqs {
		m := New()
		a := &sender{source: 0, seq: start, ts: 1000}
		b := &sender{source: 1, seq: start + 100, ts: 5000}
		for range 5 {
			mustRewrite(t, m, a.next(0))
		}
		b.seq += 5
		sw := b.next(0)
		sw.Switch = true
		mustRewrite(t, m, sw)
		if _, ok := m.Rewrite(In{Seq: start + 2, TS: 1000, Source: 0}); ok {
			t.Fatalf("start %d: late packet of the old source accepted", start)
		}
		if _, ok := m.Rewrite(In{Seq: start + 100 + 3, TS: 5000, Source: 1}); ok {
			t.Fatalf("start %d: packet of the new source from before the switch accepted", start)
		}
		if _, ok := m.Rewrite(In{Seq: start + 100 + 5 - maxLate, Source: 1}); ok {
			t.Fatalf("start %d: very late packet accepted", start)
		}
		// Back to the first source: its packets from before are refused.
		a.seq += 10
		back := a.next(0)
		back.Switch = true
		mustRewrite(t, m, back)
		if _, ok := m.Rewrite(In{Seq: start + 4, Source: 0}); ok {
			t.Fatalf("start %d: packet from the source's previous epoch accepted", start)
		}
		if src, ok := m.Source(); !ok || src != 0 {
			t.Fatalf("Source() = %d, %v", src, ok)
		}
	}
}

// op is one step of a drop/reorder script: Rewrite (drop=false) or Drop of
// input offset in; want is the expected output offset, or -1 for refused
// (for Drop: -1 means Drop returned false, 0 true).
type op struct {
	in   uint16
	drop bool
	want int
}

var dropCases = []struct {
	name string
	ops  []op
}{
	{"in order", []op{{0, false, 0}, {1, false, 1}, {2, true, 0}, {3, false, 2}, {4, true, 0}, {5, true, 0}, {6, false, 3}}},
	{"drop then reorder", []op{{0, false, 0}, {1, false, 1}, {3, false, 3}, {4, true, 0}, {2, false, 2}, {5, false, 4}}},
	{"dropped comes back", []op{{0, false, 0}, {1, true, 0}, {2, false, 1}, {3, false, 2}, {1, false, -1}, {2, false, 1}}},
	{"drop not newest", []op{{0, false, 0}, {2, false, 2}, {1, true, -1}, {3, false, 3}, {1, false, 1}}},
	{"loss then drop", []op{{0, false, 0}, {2, false, 2}, {3, true, 0}, {4, false, 3}, {1, false, 1}}},
	{"merged drops", []op{{0, false, 0}, {1, true, 0}, {2, true, 0}, {3, true, 0}, {4, false, 1},
		{1, false, -1}, {2, false, -1}, {3, false, -1}, {0, false, 0}}},
	{"drop ahead of a gap", []op{{0, false, 0}, {3, true, 0}, {1, false, 1}, {2, false, 2}, {4, false, 3}, {3, false, -1}}},
	{"two separate drops and late packets", []op{{0, false, 0}, {1, true, 0}, {2, false, 1}, {4, false, 3},
		{5, true, 0}, {6, false, 4}, {3, false, 2}, {5, false, -1}, {1, false, -1}}},
	{"duplicate drop", []op{{0, false, 0}, {1, true, 0}, {1, true, -1}, {2, false, 1}}},
	{"dropped run reordered", []op{{0, false, 0}, {2, true, 0}, {1, true, 0}, {3, false, 1}, {1, false, -1}, {2, false, -1}}},
	{"late drop splits a range", []op{{0, false, 0}, {1, false, 1}, {4, true, 0}, {2, true, 0}, {3, false, 2},
		{5, false, 3}, {2, false, -1}, {4, false, -1}, {1, false, 1}}},
	{"late drop widens a run", []op{{0, false, 0}, {1, true, 0}, {3, true, 0}, {2, true, 0}, {4, false, 1},
		{2, false, -1}, {3, false, -1}}},
	{"late drop after forwarding", []op{{0, false, 0}, {2, true, 0}, {3, false, 2}, {1, true, -1}, {1, false, 1}}},
}

func TestDropSweep(t *testing.T) {
	for _, tc := range dropCases {
		for _, start := range startSeqs {
			for _, outStart := range []uint16{0, 0xffff} {
				m := New()
				// Start the output at outStart via a switch from a
				// dummy source.
				mustRewrite(t, m, In{Seq: outStart - 1, Source: 9})
				mustRewrite(t, m, In{Seq: start, TS: 7, Source: 1, Switch: true})
				for i, o := range tc.ops[1:] {
					checkOp(t, m, tc.name, i+1, start, outStart, o)
				}
			}
		}
	}
}

func checkOp(t *testing.T, m *Munger, name string, i int, start, outStart uint16, o op) {
	t.Helper()
	seq := start + o.in
	if o.drop {
		if got := m.Drop(seq); got != (o.want == 0) {
			t.Fatalf("%s start %d: op %d Drop(+%d) = %v", name, start, i, o.in, got)
		}
		return
	}
	out, ok := m.Rewrite(In{Seq: seq, TS: 7, Source: 1})
	if o.want < 0 {
		if ok {
			t.Fatalf("%s start %d: op %d Rewrite(+%d) accepted as %d, want refused", name, start, i, o.in, out.Seq)
		}
		return
	}
	if !ok || out.Seq != outStart+uint16(o.want) {
		t.Fatalf("%s start %d out %d: op %d Rewrite(+%d) = %d, %v; want +%d", name, start, outStart, i, o.in, out.Seq-outStart, ok, o.want)
	}
	in, src, ok := m.Lookup(out.Seq)
	if !ok || in != seq || src != 1 {
		t.Fatalf("%s: Lookup(%d) = %d, %d, %v; want %d, 1", name, out.Seq, in, src, ok, seq)
	}
}

func TestDropHistoryOverflow(t *testing.T) {
	m := New()
	mustRewrite(t, m, In{Seq: 0, Source: 0})
	// 200 separate drops overflow the range history.
	for k := uint16(1); k < 400; k += 2 {
		if !m.Drop(k) {
			t.Fatalf("Drop(%d) false", k)
		}
		out := mustRewrite(t, m, In{Seq: k + 1})
		if want := (k + 1) / 2; out.Seq != want {
			t.Fatalf("seq %d -> %d, want %d", k+1, out.Seq, want)
		}
	}
	if out, ok := m.Rewrite(In{Seq: 398}); !ok || out.Seq != 199 {
		t.Errorf("recent late packet = %d, %v", out.Seq, ok)
	}
	if _, ok := m.Rewrite(In{Seq: 2}); ok {
		t.Error("packet older than the drop history accepted")
	}
}

func TestMuteResume(t *testing.T) {
	for _, tc := range []struct {
		rate uint32
		step uint32
	}{{videoHz, 3000}, {48000, 960}} {
		for _, ts0 := range startTSs {
			m := New()
			now := int64(1e12)
			var out Out
			for k := range 10 {
				out = mustRewrite(t, m, In{Seq: uint16(k), TS: ts0 + uint32(k)*tc.step, ArrivalNanos: now, ClockRate: tc.rate})
				now += 20 * ms
			}
			last := out
			// 5 s of silence; the publisher's own timestamps jump
			// arbitrarily (a new encoder after unmute).
			now += 5000*ms - 20*ms
			out = mustRewrite(t, m, In{Seq: 500, TS: 42, ArrivalNanos: now, ClockRate: tc.rate, Switch: true})
			if out.Seq != last.Seq+1 || out.TS != last.TS+5*tc.rate {
				t.Fatalf("rate %d ts0 %d: resume at %+v after %+v, want ts +%d", tc.rate, ts0, out, last, 5*tc.rate)
			}
			next := mustRewrite(t, m, In{Seq: 501, TS: 42 + tc.step, ArrivalNanos: now + 20*ms, ClockRate: tc.rate})
			if next.Seq != out.Seq+1 || next.TS != out.TS+tc.step {
				t.Fatalf("after resume %+v then %+v", out, next)
			}
		}
	}
}

func TestSwitchTimestampAtLeastOneTick(t *testing.T) {
	m := New()
	mustRewrite(t, m, In{Seq: 1, TS: 100, ArrivalNanos: 50 * ms, ClockRate: videoHz})
	// Same arrival instant, and a clock going backwards.
	a := mustRewrite(t, m, In{Seq: 9, TS: 7, ArrivalNanos: 50 * ms, ClockRate: videoHz, Source: 1, Switch: true})
	b := mustRewrite(t, m, In{Seq: 3, TS: 7, ArrivalNanos: 10 * ms, ClockRate: videoHz, Source: 2, Switch: true})
	if a.TS != 101 || b.TS != 102 {
		t.Errorf("switch timestamps %d, %d; want 101, 102", a.TS, b.TS)
	}
}

func TestLastAndTranslateTS(t *testing.T) {
	m := New()
	mustRewrite(t, m, In{Seq: 10, TS: 1000, Marker: false, ClockRate: videoHz})
	mustRewrite(t, m, In{Seq: 12, TS: 4000, Marker: true, ClockRate: videoHz})
	mustRewrite(t, m, In{Seq: 11, TS: 1000, Marker: true, ClockRate: videoHz}) // late
	out, marker, ok := m.Last()
	if !ok || out != (Out{Seq: 12, TS: 4000}) || !marker {
		t.Errorf("Last = %+v, %v, %v", out, marker, ok)
	}
	mustRewrite(t, m, In{Seq: 77, TS: 0xfffffff0, ArrivalNanos: frameDur, ClockRate: videoHz, Source: 3, Switch: true})
	if ts, ok := m.TranslateTS(3, 3000-0x10); !ok || ts != 4000+2970+3000 {
		t.Errorf("TranslateTS = %d, %v", ts, ok)
	}
	if _, ok := m.TranslateTS(0, 5); ok {
		t.Error("TranslateTS of a non-current source ok")
	}
}

func TestLookup(t *testing.T) {
	m := New()
	a := &sender{source: 0, seq: 0xfff0, ts: 0}
	b := &sender{source: 1, seq: 100, ts: 0}
	type sent struct {
		out, in uint16
		src     uint8
	}
	var log []sent
	for k := range 40 {
		p := a.next(0)
		if k == 7 {
			continue // lost upstream
		}
		out := mustRewrite(t, m, p)
		log = append(log, sent{out.Seq, p.Seq, 0})
	}
	for k := range 40 {
		p := b.next(0)
		p.Switch = k == 0
		if k == 20 {
			m.Drop(p.Seq)
			continue
		}
		if k == 30 {
			continue // lost upstream
		}
		out := mustRewrite(t, m, p)
		log = append(log, sent{out.Seq, p.Seq, 1})
	}
	for _, s := range log {
		in, src, ok := m.Lookup(s.out)
		if !ok || in != s.in || src != s.src {
			t.Fatalf("Lookup(%d) = %d, %d, %v; want %d, %d", s.out, in, src, ok, s.in, s.src)
		}
	}
	last := log[len(log)-1]
	// Lost upstream on the current source: computed.
	lostOut := last.out - 9 // b's packet 30 (after the drop at 20)
	if in, src, ok := m.Lookup(lostOut); !ok || in != 100+30 || src != 1 {
		t.Errorf("Lookup(lost %d) = %d, %d, %v; want %d, 1", lostOut, in, src, ok, 130)
	}
	if _, _, ok := m.Lookup(last.out + 1); ok {
		t.Error("Lookup of a future sequence number ok")
	}
	// Lost on the previous source: unknown.
	if _, _, ok := m.Lookup(log[0].out + 7); ok {
		t.Error("Lookup of a packet lost before the switch ok")
	}
	if _, _, ok := New().Lookup(1); ok {
		t.Error("Lookup on a fresh Munger ok")
	}
}

func TestLookupRingAging(t *testing.T) {
	m := New()
	for k := range 3000 {
		mustRewrite(t, m, In{Seq: uint16(k)})
	}
	mustRewrite(t, m, In{Seq: 5000, Source: 1, Switch: true})
	for k := range 3000 {
		mustRewrite(t, m, In{Seq: uint16(5001 + k), Source: 1})
	}
	// Older than the ring and from the previous source: unknown.
	if _, _, ok := m.Lookup(100); ok {
		t.Error("aged-out mapping of a previous source found")
	}
	// Older than the ring but on the current source: computed.
	if in, src, ok := m.Lookup(3000 + 10); !ok || in != 5010 || src != 1 {
		t.Errorf("Lookup(3010) = %d, %d, %v", in, src, ok)
	}
}

func TestNoAllocs(t *testing.T) {
	m := New()
	v := NewVP8()
	v.SetMaxTemporalLayer(1)
	d := vp8Desc(0, 0, false, 0)
	var seq uint16
	var pid uint16
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		pid++
		d.PictureID = pid & 0x7fff
		d.TID = uint8(pid % 3)
		if _, act := v.Munge(&d, 0, false); act == VP8Drop {
			m.Drop(seq)
		} else {
			m.Rewrite(In{Seq: seq, TS: uint32(seq) * 3000, ClockRate: videoHz, Switch: seq%100 == 0})
		}
		m.Lookup(seq - 5)
		m.Lookup(seq - 2000)
		m.TranslateTS(0, 5)
		m.Last()
	})
	if allocs != 0 {
		t.Errorf("per-packet calls allocate %.1f times per run, want 0", allocs)
	}
}

// TestConcurrentLookup runs Lookup from an RTCP-reader goroutine while the
// writer rewrites (meaningful under -race).
func TestConcurrentLookup(t *testing.T) {
	m := New()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for k := range 20000 {
			m.Lookup(uint16(k))
			m.TranslateTS(0, uint32(k))
		}
	}()
	for k := range 20000 {
		if k%7 == 3 {
			m.Drop(uint16(k))
			continue
		}
		m.Rewrite(In{Seq: uint16(k), Switch: k%1000 == 999})
	}
	<-done
}
