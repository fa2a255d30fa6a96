package cascade

import (
	"sync"
	"time"
)

// Loss detection on the child side, one tracker per (track, layer).
const (
	nackWindow   = 1024 // sequence numbers remembered; must be a power of two
	nackMaxTries = 10
	nackMinRetry = 20 * time.Millisecond
	// nackMaxAge gives up on a packet this long after it went missing: by
	// then a video subscriber has asked for a keyframe anyway.
	nackMaxAge = 2 * time.Second
)

type missing struct {
	seq   uint16
	valid bool
	tries uint8
	since int64 // unix nanos the gap was seen
	next  int64 // unix nanos of the next NACK
}

// lossTracker finds gaps in one layer's sequence numbers, schedules NACKs
// for them, and drops duplicates (a retransmission racing a late original).
// onPacket runs per packet on the socket's read goroutine, scan on the link's
// NACK ticker; the mutex is uncontended almost always.
type lossTracker struct {
	mu       sync.Mutex
	started  bool
	highest  uint16
	nMissing int
	slots    [nackWindow]missing

	received, recovered, abandoned uint64
}

// onPacket records seq and reports whether the packet is new (false: a
// duplicate to drop).
func (t *lossTracker) onPacket(seq uint16, now int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.started {
		t.started, t.highest = true, seq
		t.received++
		return true
	}
	diff := int16(seq - t.highest)
	switch {
	case diff > 0:
		if int(diff) >= nackWindow {
			// A jump this large is a stream restart, not loss.
			t.resetLocked()
			t.started, t.highest = true, seq
			t.received++
			return true
		}
		for s := t.highest + 1; s != seq; s++ {
			t.markLocked(s, now)
		}
		t.highest = seq
		t.clearSlotLocked(seq)
		t.received++
		return true
	case diff == 0:
		return false
	default:
		m := &t.slots[seq%nackWindow]
		if !m.valid || m.seq != seq {
			return false // already have it, or too old to track
		}
		m.valid = false
		t.nMissing--
		t.recovered++
		t.received++
		return true
	}
}

func (t *lossTracker) markLocked(seq uint16, now int64) {
	m := &t.slots[seq%nackWindow]
	if m.valid {
		t.abandoned++ // overwritten before recovery: window wrapped
		t.nMissing--
	}
	// First NACK waits one scan (≤ nackMinRetry) so mild reordering heals
	// itself without a retransmission.
	*m = missing{seq: seq, valid: true, since: now, next: now + int64(nackMinRetry)/2}
	t.nMissing++
}

func (t *lossTracker) clearSlotLocked(seq uint16) {
	m := &t.slots[seq%nackWindow]
	if m.valid {
		m.valid = false
		t.nMissing--
		t.abandoned++
	}
}

func (t *lossTracker) resetLocked() {
	for i := range t.slots {
		if t.slots[i].valid {
			t.abandoned++
		}
		t.slots[i] = missing{}
	}
	t.nMissing = 0
	t.started = false
}

// scan appends the sequence numbers due for a NACK to out and schedules
// their retry one RTT (plus margin) later.
func (t *lossTracker) scan(now int64, rtt time.Duration, out []uint16) []uint16 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.nMissing == 0 {
		return out
	}
	retry := int64(max(rtt+rtt/4, nackMinRetry))
	for i := range t.slots {
		m := &t.slots[i]
		if !m.valid || now < m.next {
			continue
		}
		if m.tries >= nackMaxTries || now-m.since > int64(nackMaxAge) {
			m.valid = false
			t.nMissing--
			t.abandoned++
			continue
		}
		m.tries++
		m.next = now + retry
		out = append(out, m.seq)
	}
	return out
}

// LayerStats counts what one layer's tracker saw.
type LayerStats struct {
	Received  uint64 // distinct packets delivered
	Recovered uint64 // of which arrived after being NACKed (or reordered)
	Abandoned uint64 // gaps given up on
	Missing   int    // gaps still being NACKed
}

func (t *lossTracker) stats() LayerStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return LayerStats{Received: t.received, Recovered: t.recovered, Abandoned: t.abandoned, Missing: t.nMissing}
}
