package packetcache

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// packet builds a recognisable payload for seq of length n.
func packet(seq uint16, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(int(seq) + i*7)
	}
	return b
}

func mustStore(t testing.TB, c *Cache, seq uint16, ts uint32, kf bool, buf []byte) uint16 {
	t.Helper()
	i, err := c.Store(seq, ts, kf, false, buf)
	if err != nil {
		t.Fatalf("Store(%d): %v", seq, err)
	}
	return i
}

func TestNewRoundsCapacity(t *testing.T) {
	cases := []struct{ in, want int }{
		{-5, 1}, {0, 1}, {1, 1}, {2, 2}, {3, 4}, {24, 32}, {128, 128},
		{129, 256}, {1024, 1024}, {MaxCapacity, MaxCapacity}, {1 << 20, MaxCapacity},
	}
	for _, tc := range cases {
		if got := New(tc.in).Capacity(); got != tc.want {
			t.Errorf("New(%d).Capacity() = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestStoreRejectsBadSizes(t *testing.T) {
	c := New(8)
	for _, n := range []int{0, SlotSize + 1, 4000} {
		if _, err := c.Store(1, 1, false, false, make([]byte, n)); !errors.Is(err, ErrPacketSize) {
			t.Errorf("Store(len %d) error = %v, want ErrPacketSize", n, err)
		}
	}
	if _, err := c.Store(1, 1, false, false, make([]byte, SlotSize)); err != nil {
		t.Errorf("Store(len %d): %v", SlotSize, err)
	}
	if st := c.Stats(); st.Stored != 1 {
		t.Errorf("Stored = %d, want 1", st.Stored)
	}
}

func TestGetDstTooSmall(t *testing.T) {
	c := New(8)
	mustStore(t, c, 10, 0, false, packet(10, 100))
	if n := c.Get(10, make([]byte, 99)); n != 0 {
		t.Errorf("Get into short dst = %d, want 0", n)
	}
	if n := c.Get(10, make([]byte, 100)); n != 100 {
		t.Errorf("Get into exact dst = %d, want 100", n)
	}
}

// startSeqs are the sweep starting points: around both ends of the
// sequence space and the sign boundary of int16 arithmetic.
var startSeqs = []uint16{0, 1, 100, 0x7ffe, 0x7fff, 0x8000, 0xfff0, 0xfffe, 0xffff}

func TestInOrderWraparoundSweep(t *testing.T) {
	for _, capacity := range []int{1, 32, 128} {
		for _, start := range startSeqs {
			c := New(capacity)
			total := capacity*3 + 7
			idx := make([]uint16, total)
			for k := range total {
				seq := start + uint16(k)
				idx[k] = mustStore(t, c, seq, uint32(k)*3000, false, packet(seq, 20+k%50))
			}
			buf := make([]byte, SlotSize)
			for k := range total {
				seq := start + uint16(k)
				want := 0
				if k >= total-capacity {
					want = 20 + k%50
				}
				if n := c.Get(seq, buf); n != want {
					t.Fatalf("cap %d start %d: Get(%d) = %d, want %d", capacity, start, seq, n, want)
				}
				if want > 0 && !bytes.Equal(buf[:want], packet(seq, want)) {
					t.Fatalf("cap %d start %d: Get(%d) wrong bytes", capacity, start, seq)
				}
				if n := c.GetAt(seq, idx[k], buf); n != want {
					t.Fatalf("cap %d start %d: GetAt(%d) = %d, want %d", capacity, start, seq, n, want)
				}
			}
			st := c.Stats()
			if !st.LastValid || st.LastSeq != start+uint16(total-1) || st.Stored != uint64(total) {
				t.Fatalf("cap %d start %d: stats %+v", capacity, start, st)
			}
		}
	}
}

func TestReorderAndLossSweep(t *testing.T) {
	// Arrival order with a loss (offset 3), reordering (5 before 4) and a
	// late packet (1 after 7).
	order := []int{0, 2, 5, 4, 6, 7, 1, 8}
	for _, start := range startSeqs {
		c := New(16)
		for _, k := range order {
			seq := start + uint16(k)
			mustStore(t, c, seq, 0, false, packet(seq, 40+k))
		}
		if st := c.Stats(); st.LastSeq != start+8 {
			t.Fatalf("start %d: LastSeq = %d, want %d", start, st.LastSeq, start+8)
		}
		buf := make([]byte, SlotSize)
		for k := range 10 {
			seq := start + uint16(k)
			want := 40 + k
			if k == 3 || k == 9 {
				want = 0
			}
			if n := c.Get(seq, buf); n != want {
				t.Fatalf("start %d: Get(%d) = %d, want %d", start, seq, n, want)
			}
		}
	}
}

func TestGetAtStaleIndexFallsBack(t *testing.T) {
	c := New(4)
	i := mustStore(t, c, 100, 0, false, packet(100, 10))
	mustStore(t, c, 101, 0, false, packet(101, 10))
	buf := make([]byte, SlotSize)
	if n := c.GetAt(100, i+1, buf); n != 10 {
		t.Errorf("GetAt with wrong index = %d, want fallback 10", n)
	}
	if n := c.GetAt(100, 60000, buf); n != 10 {
		t.Errorf("GetAt with out-of-range index = %d, want fallback 10", n)
	}
	for s := uint16(102); s < 106; s++ {
		mustStore(t, c, s, 0, false, packet(s, 10))
	}
	if n := c.GetAt(100, i, buf); n != 0 {
		t.Errorf("GetAt of evicted packet = %d, want 0", n)
	}
}

func TestSequenceRestart(t *testing.T) {
	c := New(16)
	mustStore(t, c, 40000, 1000, true, packet(1, 10))
	mustStore(t, c, 40001, 1000, false, packet(2, 10))
	// The publisher restarts far behind: the new numbering takes over.
	mustStore(t, c, 30000, 5, false, packet(3, 10))
	if st := c.Stats(); st.LastSeq != 30000 {
		t.Errorf("LastSeq after restart = %d, want 30000", st.LastSeq)
	}
	if _, ok := c.KeyframeSeq(); ok {
		t.Error("keyframe mark survived a sequence restart")
	}
	mustStore(t, c, 30001, 10, false, packet(4, 10))
	if n := c.Get(40001, make([]byte, SlotSize)); n != 10 {
		t.Errorf("old packet still cached: Get = %d, want 10", n)
	}
}

func TestKeyframeSeq(t *testing.T) {
	type step struct {
		seq uint16
		ts  uint32
		kf  bool
	}
	cases := []struct {
		name   string
		cap    int
		steps  []step
		want   uint16
		wantOK bool
	}{
		{"none", 8, []step{{1, 0, false}, {2, 0, false}}, 0, false},
		{"single", 8, []step{{1, 0, false}, {2, 90, true}, {3, 90, false}}, 2, true},
		{"newer wins", 8, []step{{1, 0, true}, {2, 0, false}, {3, 90, true}}, 3, true},
		{"sps then idr same ts", 8, []step{{5, 90, true}, {6, 90, true}, {7, 90, false}}, 5, true},
		{"late first packet", 8, []step{{6, 90, true}, {5, 90, true}}, 5, true},
		{"older keyframe retransmitted", 8, []step{{5, 90, true}, {1, 0, true}}, 5, true},
		{"ts wrap", 8, []step{{1, 0xfffffff0, true}, {2, 0x10, true}}, 2, true},
		{"seq wrap", 8, []step{{0xfffe, 7, true}, {0xffff, 7, true}, {0, 7, false}}, 0xfffe, true},
		{"evicted", 2, []step{{1, 0, true}, {2, 0, false}, {3, 0, false}}, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New(tc.cap)
			for _, s := range tc.steps {
				mustStore(t, c, s.seq, s.ts, s.kf, packet(s.seq, 12))
			}
			got, ok := c.KeyframeSeq()
			if ok != tc.wantOK || (ok && got != tc.want) {
				t.Errorf("KeyframeSeq() = %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestMeta(t *testing.T) {
	c := New(8)
	i, err := c.Store(7, 1234, true, true, packet(7, 33))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := c.Meta(7)
	want := Meta{Seq: 7, TS: 1234, Index: i, Length: 33, Keyframe: true, Marker: true}
	if !ok || m != want {
		t.Errorf("Meta = %+v, %v; want %+v", m, ok, want)
	}
	if _, ok := c.Meta(8); ok {
		t.Error("Meta of absent packet reported ok")
	}
}

func TestResize(t *testing.T) {
	for _, tc := range []struct{ from, to, stored int }{
		{8, 32, 5}, {8, 32, 20}, {32, 8, 5}, {32, 8, 20}, {32, 8, 50}, {16, 16, 40},
	} {
		for _, start := range []uint16{0, 0xfffa} {
			c := New(tc.from)
			idx := make([]uint16, tc.stored)
			for k := range tc.stored {
				seq := start + uint16(k)
				idx[k], _ = c.Store(seq, uint32(k), k == tc.stored-3, false, packet(seq, 30))
			}
			c.Resize(tc.to)
			if c.Capacity() != tc.to {
				t.Fatalf("Capacity after resize = %d, want %d", c.Capacity(), tc.to)
			}
			kept := min(tc.stored, tc.from, tc.to)
			buf := make([]byte, SlotSize)
			for k := range tc.stored {
				seq := start + uint16(k)
				want := 0
				if k >= tc.stored-kept {
					want = 30
				}
				if n := c.GetAt(seq, idx[k], buf); n != want {
					t.Fatalf("%+v start %d: GetAt(%d) after resize = %d, want %d", tc, start, seq, n, want)
				}
			}
			kf, ok := c.KeyframeSeq()
			if wantOK := kept >= 3; ok != wantOK || (ok && kf != start+uint16(tc.stored-3)) {
				t.Fatalf("%+v: KeyframeSeq after resize = %d, %v", tc, kf, ok)
			}
			// Storing continues seamlessly after a resize.
			next := start + uint16(tc.stored)
			mustStore(t, c, next, 0, false, packet(next, 31))
			if n := c.Get(next, buf); n != 31 {
				t.Fatalf("%+v: Get after resize+store = %d", tc, n)
			}
		}
	}
}

func TestConcurrentReaders(t *testing.T) {
	c := New(64)
	var wg sync.WaitGroup
	var stop atomic.Bool
	var last atomic.Uint32
	for range 10 {
		wg.Go(func() {
			buf := make([]byte, SlotSize)
			for !stop.Load() {
				seq := uint16(last.Load())
				if n := c.Get(seq, buf); n != 0 && !bytes.Equal(buf[:n], packet(seq, n)) {
					t.Errorf("torn read of %d", seq)
					return
				}
				c.KeyframeSeq()
				c.Stats()
			}
		})
	}
	for k := range 20000 {
		seq := uint16(k)
		mustStore(t, c, seq, uint32(k), k%100 == 0, packet(seq, 10+k%900))
		last.Store(uint32(seq))
		if k == 10000 {
			c.Resize(256)
		}
	}
	stop.Store(true)
	wg.Wait()
}

// TestNoAllocs proves the per-packet calls do not allocate.
func TestNoAllocs(t *testing.T) {
	c := New(1024)
	pkt := packet(1, 1200)
	dst := make([]byte, SlotSize)
	var seq uint16
	var idx uint16
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		idx, _ = c.Store(seq, uint32(seq)*3000, seq%50 == 0, true, pkt)
		c.GetAt(seq, idx, dst)
		c.Get(seq-10, dst)
		c.Get(seq+1000, dst) // miss: full scan
		c.Meta(seq - 3)
		c.KeyframeSeq()
		c.Stats()
	})
	if allocs != 0 {
		t.Errorf("per-packet calls allocate %.1f times per run, want 0", allocs)
	}
}
