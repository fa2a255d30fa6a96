package cascade

// replayWindowLen is how far behind the newest packet a counter is still
// accepted (RFC 4303 §3.4.3 style). UDP reorders little; 1024 packets are
// ≈ 0.5 s of a 16 Mbit/s link, far more than any reordering we expect,
// while a packet older than that is useless to live media anyway.
const replayWindowLen = 1024

// replayWindow remembers which of the last replayWindowLen counters were
// accepted. Counter 0 is never sent (sealers start at 1).
type replayWindow struct {
	top  uint64 // highest accepted counter
	bits [replayWindowLen / 64]uint64
}

// fresh reports whether ctr may be accepted: newer than the window's
// start and not seen before. It does not change the window.
func (w *replayWindow) fresh(ctr uint64) bool {
	switch {
	case ctr == 0:
		return false
	case ctr > w.top:
		return true
	case w.top-ctr >= replayWindowLen:
		return false
	}
	i := ctr % replayWindowLen
	return w.bits[i/64]&(1<<(i%64)) == 0
}

// accept marks ctr seen; the caller checked fresh and authenticated it.
func (w *replayWindow) accept(ctr uint64) {
	if ctr > w.top {
		if ctr-w.top >= replayWindowLen {
			clear(w.bits[:])
		} else {
			// Slots between the old top and ctr now stand for counters not
			// yet seen.
			for c := w.top + 1; c < ctr; c++ {
				i := c % replayWindowLen
				w.bits[i/64] &^= 1 << (i % 64)
			}
		}
		w.top = ctr
	}
	i := ctr % replayWindowLen
	w.bits[i/64] |= 1 << (i % 64)
}
