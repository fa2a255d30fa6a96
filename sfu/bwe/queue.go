package bwe

import "math"

const (
	// A queue that stays above this for a whole feedback interval is a
	// standing queue: the link is full even if the delay no longer grows
	// (a full drop-tail buffer looks flat to the trendline).
	standingQueueNs = 100_000_000
	// The one-way-delay baseline is the minimum over the last one to two
	// windows, so that clock drift between the peers (up to ~100 ppm) does
	// not build up into a fake queue.
	baselineWindowNs = 30_000_000_000
)

// queueMeter tracks the one-way delay (receiver arrival clock minus our
// send clock, an arbitrary but constant offset plus the queueing delay)
// against its recent minimum.
type queueMeter struct {
	curMin, prevMin float64
	windowStartNs   int64
	started         bool
}

func (q *queueMeter) baseline() float64 { return min(q.curMin, q.prevMin) }

// add records one packet and returns its queueing delay estimate in ns.
func (q *queueMeter) add(sendNs, arrivalNs int64) float64 {
	owd := float64(arrivalNs - sendNs)
	if !q.started {
		q.curMin, q.prevMin, q.windowStartNs, q.started = owd, math.Inf(1), sendNs, true
	}
	if sendNs-q.windowStartNs >= baselineWindowNs {
		q.prevMin, q.curMin, q.windowStartNs = q.curMin, owd, sendNs
	}
	q.curMin = min(q.curMin, owd)
	return owd - q.baseline()
}
