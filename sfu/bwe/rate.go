package bwe

import "math"

type rateState int

const (
	stateHold rateState = iota
	stateIncrease
	stateDecrease
)

const (
	decreaseFactor       = 0.85
	multiplicativePerSec = 1.08
	ackedCapFactor       = 1.5
	ackedCapSlackBps     = 10_000
	appLimitedRatio      = 0.8
	capacitySmoothing    = 0.05
	defaultRTTNs         = 100_000_000
)

// rateControl is GCC's AIMD controller: multiplicative increase (8 %/s)
// while far from the last known link capacity, additive close to it, and
// a cut to 85 % of the acknowledged rate on overuse.
type rateControl struct {
	est, min, max float64
	state         rateState
	lastUpdateNs  int64
	lastCutNs     int64
	rttNs         int64

	capacityKbps float64 // average acked rate at overuse
	capacityVar  float64 // normalised variance
	haveCapacity bool
}

func newRateControl(initial, lo, hi float64) rateControl {
	return rateControl{est: initial, min: lo, max: hi, state: stateHold, rttNs: defaultRTTNs}
}

// update runs one step. ackedBps is what the receiver got, sentBps what was
// sent (both over the last 500 ms of reported packets; 0 when unknown).
func (r *rateControl) update(u usage, ackedBps, sentBps float64, nowNs int64) {
	prev := r.est
	dt := 0.0
	if r.lastUpdateNs != 0 {
		dt = min(float64(nowNs-r.lastUpdateNs)/1e9, 1)
	}
	r.lastUpdateNs = nowNs
	switch u {
	case usageOveruse:
		r.decrease(ackedBps, nowNs)
	case usageUnderuse:
		r.state = stateHold // the queue is draining: let it
	case usageNormal:
		if r.state != stateIncrease {
			r.state = stateIncrease
		} else {
			r.increase(ackedBps, dt)
		}
	}
	if ackedBps > 0 {
		limit := ackedCapFactor*ackedBps + ackedCapSlackBps
		switch {
		case sentBps >= appLimitedRatio*prev:
			// Sending at the estimate: it cannot be much above what the
			// receiver gets. This also catches a full drop-tail queue,
			// which hides the delay signal.
			r.est = min(r.est, limit)
		case r.est > prev:
			// Sending well below the estimate (a paused camera): do not
			// grow on a rate the link never carried, but do not shrink
			// either, or the estimate would follow the media down and
			// never let the camera back.
			r.est = max(prev, min(r.est, limit))
		}
	}
	r.est = min(max(r.est, r.min), r.max)
}

func (r *rateControl) decrease(ackedBps float64, nowNs int64) {
	r.state = stateHold
	// One cut per congestion event: the queue needs an RTT to show the cut.
	if nowNs-r.lastCutNs < r.rttNs+100_000_000 {
		return
	}
	r.lastCutNs = nowNs
	if ackedBps <= 0 {
		r.est *= decreaseFactor
		return
	}
	r.est = min(r.est, decreaseFactor*ackedBps)
	r.updateCapacity(ackedBps / 1000)
}

func (r *rateControl) increase(ackedBps, dt float64) {
	ackedKbps := ackedBps / 1000
	if r.haveCapacity && ackedKbps > r.capacityKbps+3*r.capacityStd() {
		r.haveCapacity = false // above what we knew: the link got faster
	}
	if r.haveCapacity {
		// Near capacity: about one packet more per response time.
		responseS := float64(r.rttNs)/1e9 + 0.1
		r.est += max(1000, 1200*8/responseS) * dt
		return
	}
	r.est *= math.Pow(multiplicativePerSec, dt)
}

func (r *rateControl) updateCapacity(ackedKbps float64) {
	if !r.haveCapacity {
		r.capacityKbps, r.capacityVar, r.haveCapacity = ackedKbps, 0.4, true
		return
	}
	if ackedKbps < r.capacityKbps-3*r.capacityStd() {
		r.capacityKbps = ackedKbps // the link got slower: start over
		return
	}
	r.capacityKbps = (1-capacitySmoothing)*r.capacityKbps + capacitySmoothing*ackedKbps
	d := r.capacityKbps - ackedKbps
	r.capacityVar = (1-capacitySmoothing)*r.capacityVar + capacitySmoothing*d*d/max(r.capacityKbps, 1)
	r.capacityVar = min(max(r.capacityVar, 0.4), 2.5)
}

func (r *rateControl) capacityStd() float64 {
	return math.Sqrt(r.capacityVar * r.capacityKbps)
}

// raiseTo lifts the estimate after a successful probe.
func (r *rateControl) raiseTo(bps float64) {
	if bps > r.est {
		r.est = min(bps, r.max)
		r.haveCapacity = false
	}
}
