package forward

import "time"

// rtxBudget is a token bucket of bytes for retransmissions to one
// subscriber on one track. Loss on a thin link is mostly the link's queue
// overflowing; answering every NACK there adds 25–60 % on top of the media
// that did not fit, keeps the queue full and walks the bandwidth estimate
// down until video pauses. Random loss on a healthy link (a few per cent)
// stays far inside the budget. Guarded by the down track's mu.
type rtxBudget struct {
	bytesPerSec float64 // 0: unlimited
	tokens      float64
	lastNs      int64
}

// rtxBurst is how much unused budget may pile up: enough to answer the NACKs
// for one lost burst of a frame without waiting.
const rtxBurst = 250 * time.Millisecond

// minRTXBurstBytes lets at least one full-size packet through however small
// the rate. (Eight packets were tried: on a congested 300 kbit/s link that
// one burst into the full queue was enough to pause the camera; the rate
// the core sets grows with the unused estimate instead, see room.)
const minRTXBurstBytes = 1500

func (b *rtxBudget) setRate(bps int) {
	b.bytesPerSec = float64(max(bps, 0)) / 8
}

// take reports whether n bytes may be retransmitted now, and takes them.
func (b *rtxBudget) take(n int, nowNs int64) bool {
	if b.bytesPerSec == 0 {
		return true
	}
	burst := max(b.bytesPerSec*rtxBurst.Seconds(), minRTXBurstBytes)
	if b.lastNs == 0 {
		b.tokens = burst
	} else {
		b.tokens = min(b.tokens+b.bytesPerSec*float64(nowNs-b.lastNs)/1e9, burst)
	}
	b.lastNs = nowNs
	if b.tokens < float64(n) {
		return false
	}
	b.tokens -= float64(n)
	return true
}

// SetRetransmitRate limits retransmissions to this subscriber on this
// track to bps (0: unlimited, the default). The subscriber's bandwidth loop
// sets it from the track's allocation.
func (d *DownTrack) SetRetransmitRate(bps int) {
	d.mu.Lock()
	d.rtx.setRate(bps)
	d.mu.Unlock()
}
