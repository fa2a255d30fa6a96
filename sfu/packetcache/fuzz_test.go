package packetcache

import (
	"bytes"
	"testing"
)

// fuzzEntry is the model's view of one stored packet.
type fuzzEntry struct {
	seq uint16
	kf  bool
	buf []byte
}

// FuzzCache drives the cache with a script of stores, gets and resizes and
// checks every answer against a plain model: the cache holds exactly the
// newest Capacity() packets stored (since the last resize trimmed it).
//
// Script: one byte of initial capacity exponent, then 3-byte operations
// (op, arg1, arg2). op%8 in 0..5 stores seq last+int8(arg1) of length
// arg2+1, 6 gets seq last+int8(arg1), 7 resizes to 1<<(arg1%8).
func FuzzCache(f *testing.F) {
	// Seeds mirror the table tests: in order, reorder+loss, duplicate,
	// resize down and up, keyframes, near the wrap.
	f.Add([]byte{3, 0, 1, 10, 0, 1, 20, 0, 1, 30, 6, 0xff, 0, 6, 0xfd, 0})
	f.Add([]byte{4, 0, 2, 40, 1, 3, 41, 0, 0xff, 42, 0, 2, 43, 6, 0xfe, 0, 6, 0xfc, 0})
	f.Add([]byte{2, 0, 1, 5, 0, 0, 5, 6, 0, 0, 7, 1, 0, 0, 1, 9, 7, 5, 0, 6, 0xff, 0})
	f.Add([]byte{5, 3, 1, 100, 0, 1, 100, 0, 1, 100, 3, 1, 100, 6, 0xfd, 0})
	f.Add([]byte{0, 0, 0x80, 1, 0, 0x7f, 1, 0, 0x81, 1, 6, 0, 0})
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) == 0 || len(script) > 3*1024 {
			return
		}
		c := New(1 << (script[0] % 8))
		var live []fuzzEntry
		var last uint16
		dst := make([]byte, SlotSize)
		for k, ops := 0, script[1:]; len(ops) >= 3; k, ops = k+1, ops[3:] {
			op, a1, a2 := ops[0]%8, ops[1], ops[2]
			seq := last + uint16(int16(int8(a1)))
			switch {
			case op <= 5:
				kf := op == 3
				buf := bytes.Repeat([]byte{byte(k), byte(k >> 8)}, int(a2)/2+1)
				if _, err := c.Store(seq, uint32(k), kf, op == 4, buf); err != nil {
					t.Fatalf("Store: %v", err)
				}
				live = append(live, fuzzEntry{seq: seq, kf: kf, buf: buf})
				if len(live) > c.Capacity() {
					live = live[len(live)-c.Capacity():]
				}
				last = seq
			case op == 6:
				n := c.Get(seq, dst)
				checkGet(t, live, seq, dst[:n])
			default:
				c.Resize(1 << (a1 % 8))
				if len(live) > c.Capacity() {
					live = live[len(live)-c.Capacity():]
				}
			}
		}
		for _, e := range live {
			checkGet(t, live, e.seq, dst[:c.Get(e.seq, dst)])
		}
		if kf, ok := c.KeyframeSeq(); ok {
			found := false
			for _, e := range live {
				found = found || (e.seq == kf && e.kf)
			}
			if !found {
				t.Fatalf("KeyframeSeq %d is not a cached keyframe packet", kf)
			}
		}
	})
}

func checkGet(t *testing.T, live []fuzzEntry, seq uint16, got []byte) {
	t.Helper()
	present := false
	for _, e := range live {
		if e.seq != seq {
			continue
		}
		present = true
		if bytes.Equal(e.buf, got) {
			return
		}
	}
	if present || len(got) != 0 {
		t.Fatalf("Get(%d) = %d bytes, present in model: %v", seq, len(got), present)
	}
}
