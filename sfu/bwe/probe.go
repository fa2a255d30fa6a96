package bwe

import "time"

// ProbeResult is what a probe measured.
type ProbeResult struct {
	ID        int
	TargetBps int
	// SentBps and ReceivedBps are the rates the cluster's packets were sent
	// and received at; MeasuredBps is the smaller.
	SentBps, ReceivedBps, MeasuredBps int
	// PacketsSent and PacketsReceived count the cluster's packets (the
	// feedback's view): a short rate with few losses is the receiver's
	// timing, many losses the link's.
	PacketsSent, PacketsReceived int
	// Confirmed is true when the link carried at least 90 % of the target.
	Confirmed bool
}

const (
	probeConfirmRatio = 0.9
	probeMinPackets   = 5
	probeResultWaitNs = int64(time.Second)
)

// probeCluster gathers the send and receive statistics of the packets sent
// while one probe runs (media and padding alike).
type probeCluster struct {
	id        int32
	targetBps int
	startNs   int64
	endNs     int64
	active    bool

	sent, accounted             int
	sentBytes, lastSentSize     int
	firstSendNs, lastSendNs     int64
	recv                        int
	recvBytes, firstRecvSize    int
	firstArrivalNs, lastArrival int64
}

func (c *probeCluster) onSent(nowNs int64, size int) int32 {
	if !c.active || nowNs < c.startNs || nowNs >= c.endNs {
		return 0
	}
	if c.sent == 0 {
		c.firstSendNs = nowNs
	}
	c.sent++
	c.sentBytes += size
	c.lastSentSize, c.lastSendNs = size, nowNs
	return c.id
}

func (c *probeCluster) onResult(r *packetResult) {
	if !c.active || r.probe != c.id {
		return
	}
	c.accounted++
	if !r.received {
		return
	}
	if c.recv == 0 || r.arrivalNs < c.firstArrivalNs {
		c.firstArrivalNs, c.firstRecvSize = r.arrivalNs, r.size
	}
	c.lastArrival = max(c.lastArrival, r.arrivalNs)
	c.recv++
	c.recvBytes += r.size
}

// finish returns the result once every packet of the ended cluster has been
// reported, or the wait for stragglers is over.
func (c *probeCluster) finish(nowNs int64) (ProbeResult, bool) {
	if !c.active || nowNs < c.endNs {
		return ProbeResult{}, false
	}
	if c.accounted < c.sent && nowNs < c.endNs+probeResultWaitNs {
		return ProbeResult{}, false
	}
	c.active = false
	res := ProbeResult{ID: int(c.id), TargetBps: c.targetBps, PacketsSent: c.sent, PacketsReceived: c.recv}
	if c.sent < probeMinPackets || c.recv < probeMinPackets {
		return res, true
	}
	if d := c.lastSendNs - c.firstSendNs; d > 0 {
		res.SentBps = int(float64(c.sentBytes-c.lastSentSize) * 8 / (float64(d) / 1e9))
	}
	if d := c.lastArrival - c.firstArrivalNs; d > 0 {
		res.ReceivedBps = int(float64(c.recvBytes-c.firstRecvSize) * 8 / (float64(d) / 1e9))
	}
	res.MeasuredBps = min(res.SentBps, res.ReceivedBps)
	res.Confirmed = float64(res.MeasuredBps) >= probeConfirmRatio*float64(c.targetBps)
	return res, true
}
