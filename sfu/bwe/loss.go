package bwe

const (
	lossHigh = 0.10
	lossLow  = 0.02
	// A window closes after 100 packets or 1 s, whichever comes first, and
	// holds at least 20 packets: shorter windows read the binomial noise of
	// steady random loss (5 % over 30 packets is above 10 % every few
	// seconds) as congestion.
	lossWindowPackets    = 100
	lossWindowMinPackets = 20
	lossWindowNs         = 1_000_000_000
)

// lossControl is the loss-based half of the estimate. Above 10 % loss it
// cuts; below 2 % it lets the estimate grow quickly; in between it still
// grows, slowly. GCC holds the estimate in that band, which on a rural
// radio link with a steady few per cent of random loss pins the estimate
// at its start value for good: there the delay signal is the better judge
// of congestion, and the loss-based estimate never exceeds the
// delay-based one.
type lossControl struct {
	est          float64
	lost, total  int
	windowNs     int64
	lastApplyNs  int64
	lastRatio    float64
	haveMeasured bool
}

func (l *lossControl) add(lost, total int, nowNs int64) {
	if l.total == 0 {
		l.windowNs = nowNs
	}
	l.lost += lost
	l.total += total
}

// ready reports whether the window holds enough packets to judge.
func (l *lossControl) ready(nowNs int64) bool {
	return l.total >= lossWindowPackets || (l.total >= lossWindowMinPackets && nowNs-l.windowNs >= lossWindowNs)
}

// apply closes the window and moves the estimate; ceiling is the
// delay-based estimate (or REMB). congested says a standing queue was seen:
// then loss in the 2–10 % band is the link dropping our excess, and the
// estimate holds as GCC would.
//
// floor is the rate the receiver measurably got (0 when unknown): heavy loss
// on an overfull link says the link carries about that much, not that it
// carries nothing, so the cut stops there instead of compounding window
// after window down to the minimum while the old queue drains.
func (l *lossControl) apply(ratio, ceiling, floor float64, congested bool, nowNs int64) {
	dt := 0.0
	if l.lastApplyNs != 0 {
		dt = min(float64(nowNs-l.lastApplyNs)/1e9, 1)
	}
	l.lastApplyNs = nowNs
	l.lastRatio, l.haveMeasured = ratio, true
	switch {
	case ratio > lossHigh:
		l.est = max(min(l.est, ceiling)*(1-0.5*ratio), 0.85*floor)
	case ratio < lossLow:
		l.est *= 1 + 0.5*dt
	case !congested:
		l.est *= 1 + 0.1*dt
	}
	l.est = min(l.est, ceiling)
	l.lost, l.total = 0, 0
}
