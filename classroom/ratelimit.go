package classroom

import "time"

// bucket is a token bucket: rate tokens per second up to burst. It is owned
// by the room loop (no lock).
type bucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
	// lastTold rate-limits telling the sender it is being limited.
	lastTold time.Time
}

func newBucket(rate, burst float64, now time.Time) *bucket {
	return &bucket{rate: rate, burst: burst, tokens: burst, last: now}
}

// take spends one token if there is one.
func (b *bucket) take(now time.Time) bool {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens += dt * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// shouldTell reports whether the sender should be told (at most once a second).
func (b *bucket) shouldTell(now time.Time) bool {
	if now.Sub(b.lastTold) < time.Second {
		return false
	}
	b.lastTold = now
	return true
}
