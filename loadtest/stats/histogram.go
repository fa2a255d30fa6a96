// Package stats holds the load tester's measuring path: a fixed-size latency histogram and a per-track
// recorder that turns received RTP packets into bitrate, loss, jitter, freeze and latency figures
// without allocating per packet.
package stats

import (
	"math"
	"math/bits"
	"time"
)

// Log-linear buckets over microseconds: values below linearLimit get one bucket each, above it every
// power of two is split into subBuckets equal buckets (about 3% relative error), up to 2^maxShift
// times that. A histogram is one fixed array, so recording never allocates and merging is a loop.
const (
	subBuckets  = 32
	linearLimit = 2 * subBuckets
	maxShift    = 31
	numBuckets  = linearLimit + maxShift*subBuckets
)

// Histogram counts durations with microsecond resolution at the low end. The zero value is empty
// and ready to use. It is not safe for concurrent use.
type Histogram struct {
	counts [numBuckets]uint32
	n      uint64
	sum    int64 // µs
	min    int64 // µs, valid when n > 0
	max    int64 // µs
}

func bucketOf(us int64) int {
	if us < 0 {
		us = 0
	}
	if us < linearLimit {
		return int(us)
	}
	shift := bits.Len64(uint64(us)) - 6 // us>>shift lands in [32, 64)
	if shift > maxShift {
		return numBuckets - 1
	}
	return linearLimit + (shift-1)*subBuckets + int(us>>shift) - subBuckets
}

// bucketBounds returns the [low, high) range in µs of bucket i.
func bucketBounds(i int) (low, high int64) {
	if i < linearLimit {
		return int64(i), int64(i) + 1
	}
	shift := (i-linearLimit)/subBuckets + 1
	m := int64((i-linearLimit)%subBuckets + subBuckets)
	return m << shift, (m + 1) << shift
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	us := d.Microseconds()
	if us < 0 {
		us = 0
	}
	h.counts[bucketOf(us)]++
	if h.n == 0 || us < h.min {
		h.min = us
	}
	if us > h.max {
		h.max = us
	}
	h.n++
	h.sum += us
}

// Merge adds every count of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest recorded value (exact).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) * time.Microsecond }

// Min is the smallest recorded value (exact).
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) * time.Microsecond }

// Mean is the average of the recorded values.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum/int64(h.n)) * time.Microsecond
}

// Quantile returns the value below which a fraction q (0..1) of the recordings fall, interpolated
// inside its bucket and clamped to the exact min and max. It is 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	q = math.Min(math.Max(q, 0), 1)
	rank := q * float64(h.n)
	var seen float64
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			low, high := bucketBounds(i)
			v := float64(low) + (rank-seen)/float64(c)*float64(high-low)
			us := min(max(int64(v), h.min), h.max)
			return time.Duration(us) * time.Microsecond
		}
		seen += float64(c)
	}
	return h.Max()
}

// CDFPoint is one step of a cumulative distribution: Fraction of the values are ≤ Value.
type CDFPoint struct {
	Value    time.Duration
	Fraction float64
}

// CDF returns one point per non-empty bucket (at the bucket's upper bound, clamped to max).
func (h *Histogram) CDF() []CDFPoint {
	if h.n == 0 {
		return nil
	}
	var pts []CDFPoint
	var seen uint64
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		seen += uint64(c)
		_, high := bucketBounds(i)
		v := min(high, h.max)
		pts = append(pts, CDFPoint{Value: time.Duration(v) * time.Microsecond, Fraction: float64(seen) / float64(h.n)})
	}
	return pts
}
