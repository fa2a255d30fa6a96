package bwe

// The delay-based detector follows the shape of GCC (draft-ietf-rmcat-gcc
// and libwebrtc's trendline estimator): packets are grouped into bursts by
// send time, the one-way delay variation between consecutive groups is
// accumulated and smoothed, the slope of that curve over the last groups is
// the queueing trend, and an adaptive threshold turns the trend into
// overuse / normal / underuse.

// usage is the detector's verdict.
type usage int

const (
	usageNormal usage = iota
	usageOveruse
	usageUnderuse
)

func (u usage) String() string {
	return [...]string{"normal", "overuse", "underuse"}[u]
}

const (
	burstNs          = 5_000_000 // packets sent within 5 ms form one group
	trendWindow      = 20        // groups in the regression
	trendSmoothing   = 0.9
	trendGain        = 4.0
	maxDeltasCounted = 60
	overuseTimeMs    = 10.0
	thresholdInitial = 12.5
	thresholdMin     = 6.0
	thresholdMax     = 600.0
	kUp              = 0.0087
	kDown            = 0.039
	// A group whose arrival spacing exceeds this is a gap (pause, reroute):
	// the detector restarts rather than read it as a huge delay change.
	maxGroupGapNs = 3_000_000_000
)

type packetGroup struct {
	firstSendNs, lastSendNs int64
	lastArrivalNs           int64
	size                    int
	started                 bool
}

type trendPoint struct{ x, y float64 }

type delayDetector struct {
	cur, prev packetGroup

	firstArrivalNs int64
	accumulated    float64
	smoothed       float64
	points         [trendWindow]trendPoint
	nPoints        int
	pointsHead     int
	numDeltas      int

	threshold      float64
	lastUpdateNs   int64
	overuseMs      float64
	overuseCount   int
	prevTrend      float64
	verdict        usage
	lastTrendValue float64
}

func newDelayDetector() delayDetector {
	return delayDetector{threshold: thresholdInitial}
}

// onPacket feeds one received packet (in send order) and returns the
// current verdict.
func (d *delayDetector) onPacket(sendNs, arrivalNs int64, size int) usage {
	if !d.cur.started {
		d.cur = packetGroup{firstSendNs: sendNs, lastSendNs: sendNs, lastArrivalNs: arrivalNs, size: size, started: true}
		return d.verdict
	}
	if sendNs < d.cur.firstSendNs {
		return d.verdict // reordered into an earlier group: ignore
	}
	if sendNs-d.cur.firstSendNs <= burstNs {
		d.cur.lastSendNs = max(d.cur.lastSendNs, sendNs)
		d.cur.lastArrivalNs = max(d.cur.lastArrivalNs, arrivalNs)
		d.cur.size += size
		return d.verdict
	}
	// A new group starts: the current one is complete.
	if d.prev.started {
		d.onGroupDelta(d.cur.lastSendNs-d.prev.lastSendNs, d.cur.lastArrivalNs-d.prev.lastArrivalNs, d.cur.lastArrivalNs)
	}
	d.prev = d.cur
	d.cur = packetGroup{firstSendNs: sendNs, lastSendNs: sendNs, lastArrivalNs: arrivalNs, size: size, started: true}
	return d.verdict
}

func (d *delayDetector) onGroupDelta(sendDeltaNs, arrivalDeltaNs, arrivalNs int64) {
	if arrivalDeltaNs > maxGroupGapNs || arrivalDeltaNs < 0 {
		d.reset()
		return
	}
	if d.numDeltas == 0 {
		d.firstArrivalNs = arrivalNs
	}
	d.numDeltas = min(d.numDeltas+1, 1000)
	deltaMs := float64(arrivalDeltaNs-sendDeltaNs) / 1e6
	d.accumulated += deltaMs
	d.smoothed = trendSmoothing*d.smoothed + (1-trendSmoothing)*d.accumulated
	d.points[d.pointsHead] = trendPoint{x: float64(arrivalNs-d.firstArrivalNs) / 1e6, y: d.smoothed}
	d.pointsHead = (d.pointsHead + 1) % trendWindow
	d.nPoints = min(d.nPoints+1, trendWindow)
	trend := d.prevTrend
	if d.nPoints == trendWindow {
		if slope, ok := d.slope(); ok {
			trend = slope
		}
	}
	d.detect(trend, arrivalNs)
}

// slope is the least-squares slope of the smoothed delay over arrival time.
func (d *delayDetector) slope() (float64, bool) {
	var sx, sy float64
	for _, p := range d.points {
		sx += p.x
		sy += p.y
	}
	mx, my := sx/trendWindow, sy/trendWindow
	var num, den float64
	for _, p := range d.points {
		num += (p.x - mx) * (p.y - my)
		den += (p.x - mx) * (p.x - mx)
	}
	if den == 0 {
		return 0, false
	}
	return num / den, true
}

func (d *delayDetector) detect(trend float64, nowNs int64) {
	modified := float64(min(d.numDeltas, maxDeltasCounted)) * trend * trendGain
	d.lastTrendValue = modified
	dtMs := 0.0
	if d.lastUpdateNs != 0 {
		dtMs = min(float64(nowNs-d.lastUpdateNs)/1e6, 100)
	}
	d.lastUpdateNs = nowNs
	switch {
	case modified > d.threshold:
		d.overuseMs += dtMs
		d.overuseCount++
		if d.overuseMs > overuseTimeMs && d.overuseCount > 1 && trend >= d.prevTrend {
			d.overuseMs, d.overuseCount = 0, 0
			d.verdict = usageOveruse
		}
	case modified < -d.threshold:
		d.overuseMs, d.overuseCount = 0, 0
		d.verdict = usageUnderuse
	default:
		d.overuseMs, d.overuseCount = 0, 0
		d.verdict = usageNormal
	}
	d.prevTrend = trend
	d.adaptThreshold(modified, dtMs)
}

func (d *delayDetector) adaptThreshold(modified, dtMs float64) {
	abs := modified
	if abs < 0 {
		abs = -abs
	}
	// Spikes far above the threshold (a reroute, a burst of cross traffic)
	// must not drag it up.
	if abs > d.threshold+15 {
		return
	}
	k := kUp
	if abs < d.threshold {
		k = kDown
	}
	d.threshold += k * (abs - d.threshold) * dtMs
	d.threshold = min(max(d.threshold, thresholdMin), thresholdMax)
}

func (d *delayDetector) reset() {
	*d = delayDetector{threshold: d.threshold, cur: d.cur}
	d.prev = packetGroup{}
}
