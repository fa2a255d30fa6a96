package bwe

const (
	ackedWindowNs = 500_000_000
	ackedRingSize = 4096
)

type ackedSample struct {
	arrivalNs int64
	size      int
}

// ackedRate measures a packet rate over the last 500 ms of timestamps
// (arrival times for the receive rate, send times for the send rate), from
// a fixed ring (no allocation).
type ackedRate struct {
	ring       [ackedRingSize]ackedSample
	head, n    int
	bytes      int
	latestNs   int64
}

func (a *ackedRate) add(arrivalNs int64, size int) {
	if a.n == ackedRingSize {
		a.pop()
	}
	a.ring[(a.head+a.n)%ackedRingSize] = ackedSample{arrivalNs: arrivalNs, size: size}
	a.n++
	a.bytes += size
	a.latestNs = max(a.latestNs, arrivalNs)
	for a.n > 0 && a.ring[a.head].arrivalNs < a.latestNs-ackedWindowNs {
		a.pop()
	}
}

func (a *ackedRate) pop() {
	a.bytes -= a.ring[a.head].size
	a.head = (a.head + 1) % ackedRingSize
	a.n--
}

// bps is 0 until the window spans at least 100 ms.
func (a *ackedRate) bps() float64 {
	if a.n < 2 {
		return 0
	}
	span := a.latestNs - a.ring[a.head].arrivalNs
	if span < 100_000_000 {
		return 0
	}
	return float64(a.bytes-a.ring[a.head].size) * 8 / (float64(span) / 1e9)
}
