// Package bwe estimates the bandwidth towards one subscriber from the
// subscriber's RTCP: transport-wide congestion control feedback (delay- and
// loss-based, GCC-like) when the client sends it, REMB and receiver-report
// loss otherwise. DESIGN.md says why this is not pion's GCC.
//
// The estimator is driven entirely by its callers, with explicit
// timestamps: OnPacketSent for every packet sent to the subscriber (hot
// path, no allocation), OnRTCP (or the specific On… methods) for every
// RTCP packet from the subscriber, StartProbe when the allocator asks for
// probe padding.
package bwe

import (
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/pion/rtcp"
)

// Config tunes an Estimator. Its zero value is valid.
type Config struct {
	// InitialBitrate is the estimate before any feedback. It defaults to
	// 300 kbit/s: enough for audio and a small video layer on a thin link.
	InitialBitrate int
	// MinBitrate defaults to 30 kbit/s (audio must always fit).
	MinBitrate int
	// MaxBitrate defaults to 10 Mbit/s.
	MaxBitrate int
	// Logger defaults to slog.Default(); the estimator logs only mode
	// changes, never per packet or per feedback.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.InitialBitrate <= 0 {
		c.InitialBitrate = 300_000
	}
	if c.MinBitrate <= 0 {
		c.MinBitrate = 30_000
	}
	if c.MaxBitrate <= 0 {
		c.MaxBitrate = 10_000_000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Mode is where the estimate comes from.
type Mode int

// Modes.
const (
	ModeInitial Mode = iota // no feedback yet
	ModeTWCC                // transport-wide cc feedback: delay and loss based
	ModeREMB                // receiver's REMB, capped by receiver-report loss
)

func (m Mode) String() string { return [...]string{"initial", "twcc", "remb"}[m] }

// Stats is a snapshot of the estimator's inner state, for metrics and tests.
type Stats struct {
	Mode          Mode
	Estimate      int
	DelayBasedBps int
	LossBasedBps  int
	AckedBps      int
	// SentBps is the send rate of the packets the last feedback reported
	// (media, retransmissions and padding, received or not).
	SentBps   int
	LossRatio float64
	Usage     string
	Trend     float64
	Threshold float64
	RTT       time.Duration
	// QueueDelay is the queueing delay of the last packet fed, against
	// the recent minimum one-way delay.
	QueueDelay time.Duration
}

const (
	twccStaleNs      = int64(2 * time.Second) // REMB takes over after this without TWCC
	notifyChangeFrac = 0.02
	rttSmoothing     = 0.125
	probeFloorHoldNs = int64(2 * time.Second)
	// cutRatio: an estimate falling below this fraction of its previous
	// value in one feedback is a cut (see staleBeforeNs).
	cutRatio = 0.95
	// A standing queue is draining while it shrinks by drainMarginNs
	// (more than jitter) at least every drainWindowNs.
	drainMarginNs = 20_000_000
	drainWindowNs = 500_000_000
)

// Estimator is the bandwidth estimator of one subscriber connection. Its
// methods are safe for concurrent use (the forwarding path calls
// OnPacketSent while the RTCP reader calls OnRTCP).
type Estimator struct {
	cfg Config

	mu          sync.Mutex
	history     sendHistory
	parser      feedbackParser
	delay       delayDetector
	rate        rateControl
	loss        lossControl
	queue       queueMeter
	lastQueueNs float64
	acked       ackedRate // receive rate of reported packets
	sent        ackedRate // send rate of reported packets (received or not)
	probe       probeCluster
	nextProbeID int32
	// While a probe runs and shortly after, the estimate is not cut below
	// probeFloor: a probe overshoots on purpose, and the queue and loss it
	// causes say nothing about the rate the link carried before it.
	probeFloor        float64
	probeFloorUntilNs int64
	floorConfirmed    bool // the floor was raised by a confirmed probe
	// staleBeforeNs: packets sent before the estimate was last cut do not
	// count towards the loss window. They were sent at the old rate into
	// the queue that caused the cut; reported one queue-length later, their
	// loss would cut again and again (down to a paused camera) for what the
	// first cut already answered.
	staleBeforeNs int64
	// drainRef is the standing queue (the smallest queueing delay in a
	// feedback) at the last cut or the last sign of draining, and
	// drainRefNs when it was seen; drainRef is 0 when there is none.
	drainRef   float64
	drainRefNs int64
	mode       Mode
	lastTWCCNs int64
	rembBps    float64
	rttNs      int64
	estimate   int
	notified   int
	onChange   func(bps int)
	onProbe    func(ProbeResult)
}

// New returns an estimator at cfg.InitialBitrate.
func New(cfg Config) *Estimator {
	cfg = cfg.withDefaults()
	init := float64(cfg.InitialBitrate)
	e := &Estimator{
		cfg:      cfg,
		delay:    newDelayDetector(),
		rate:     newRateControl(init, float64(cfg.MinBitrate), float64(cfg.MaxBitrate)),
		loss:     lossControl{est: init},
		estimate: cfg.InitialBitrate,
		notified: cfg.InitialBitrate,
	}
	return e
}

// OnChange sets the function called when the estimate moves by 2 % or more
// since it was last called. It is called synchronously from the goroutine
// feeding RTCP, without the estimator's lock held; it must not block.
func (e *Estimator) OnChange(f func(bps int)) {
	e.mu.Lock()
	e.onChange = f
	e.mu.Unlock()
}

// OnProbeResult sets the function called when a probe's result is known
// (same calling rules as OnChange).
func (e *Estimator) OnProbeResult(f func(ProbeResult)) {
	e.mu.Lock()
	e.onProbe = f
	e.mu.Unlock()
}

// Estimate is the current estimate in bits per second.
func (e *Estimator) Estimate() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.estimate
}

// OnPacketSent records a packet sent to the subscriber: its transport-wide
// sequence number and its size on the wire (header + payload + padding).
// Call it for media, retransmissions and padding alike. It does not
// allocate.
func (e *Estimator) OnPacketSent(twccSeq uint16, size int, now time.Time) {
	ns := now.UnixNano()
	e.mu.Lock()
	probe := e.probe.onSent(ns, size)
	e.history.add(twccSeq, ns, size, probe)
	e.mu.Unlock()
}

// StartProbe starts a probe cluster: every packet sent from now for d
// counts towards measuring whether the link carries targetBps. The caller
// sends padding (on top of media) to reach targetBps meanwhile. A probe
// started while another runs replaces it. It returns the probe's id, which
// the ProbeResult carries.
func (e *Estimator) StartProbe(targetBps int, d time.Duration, now time.Time) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextProbeID++
	ns := now.UnixNano()
	e.probe = probeCluster{id: e.nextProbeID, targetBps: targetBps, startNs: ns, endNs: ns + int64(d), active: true}
	e.probeFloor, e.probeFloorUntilNs = float64(e.estimate), ns+int64(d)+probeResultWaitNs
	e.floorConfirmed = false
	return int(e.nextProbeID)
}

// OnRTCP feeds every RTCP packet from the subscriber; the ones the estimator
// does not use are ignored.
func (e *Estimator) OnRTCP(pkts []rtcp.Packet, now time.Time) error {
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.TransportLayerCC:
			if err := e.OnTransportCC(p, now); err != nil {
				return err
			}
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			e.OnREMB(p, now)
		case *rtcp.ReceiverReport:
			for _, r := range p.Reports {
				e.OnReceptionReport(r, now)
			}
		}
	}
	return nil
}

// OnTransportCC feeds one TWCC feedback packet.
func (e *Estimator) OnTransportCC(fb *rtcp.TransportLayerCC, now time.Time) error {
	nowNs := now.UnixNano()
	e.mu.Lock()
	results, err := e.parser.parse(fb, &e.history)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.setMode(ModeTWCC)
	e.lastTWCCNs = nowNs
	lost, judged, latestArrival, latestSend := 0, 0, int64(0), int64(0)
	minQueue := math.Inf(1)
	u := e.delay.verdict
	for i := range results {
		r := &results[i]
		e.probe.onResult(r)
		e.sent.add(r.sendNs, r.size)
		if r.sendNs >= e.staleBeforeNs {
			judged++
			if !r.received {
				lost++
			}
		}
		if !r.received {
			continue
		}
		e.acked.add(r.arrivalNs, r.size)
		e.lastQueueNs = e.queue.add(r.sendNs, r.arrivalNs)
		minQueue = min(minQueue, e.lastQueueNs)
		u = e.delay.onPacket(r.sendNs, r.arrivalNs, r.size)
		if r.arrivalNs >= latestArrival {
			latestArrival, latestSend = r.arrivalNs, r.sendNs
		}
	}
	if latestSend != 0 {
		e.updateRTT(nowNs - latestSend)
	}
	// Every packet of this feedback waited behind a standing queue: the
	// link is over-full even if the trend is flat, and loss is congestion.
	standing := minQueue > standingQueueNs && !math.IsInf(minQueue, 1)
	// Unless the queue is draining: shrinking by drainMarginNs every
	// drainWindowNs since the rate was last cut, with the trend not rising.
	// A 600 ms drop-tail buffer on a thin link takes seconds to drain after
	// the cut that answered it; cutting again every round trip meanwhile,
	// each time to 0.85 × a receive rate that wobbles with the packet mix,
	// walks the estimate far below the link (and pauses video the link
	// could carry).
	draining := standing && u != usageOveruse && e.drainingLocked(minQueue, nowNs)
	if standing && !draining {
		u = usageOveruse
		if e.floorConfirmed && !e.probe.active {
			// A standing queue after a confirmed probe is the link
			// changing (a cap, cross traffic): the probe had just shown
			// the link carries its rate. Its floor no longer says
			// anything. (After a failed probe the queue is the probe's
			// own; that floor stays, or every failed probe on a thin link
			// cut the estimate below the lowest layer.)
			e.probeFloorUntilNs = 0
		}
	}
	before := min(e.rate.est, e.loss.est)
	if len(results) > 0 {
		cuts := e.rate.lastCutNs
		e.rate.update(u, e.acked.bps(), e.sent.bps(), nowNs)
		if e.rate.lastCutNs != cuts {
			e.drainRef, e.drainRefNs = 0, nowNs
			if standing {
				e.drainRef = minQueue
			}
		}
		e.loss.add(lost, judged, nowNs)
		if e.loss.ready(nowNs) {
			e.loss.apply(float64(e.loss.lost)/float64(e.loss.total), e.rate.est, e.acked.bps(), standing, nowNs)
		} else {
			e.loss.est = min(e.loss.est, e.rate.est)
		}
	}
	probeRes, probeDone := e.probe.finish(nowNs)
	if probeDone {
		carried := 0.95 * float64(probeRes.MeasuredBps)
		if probeRes.Confirmed && float64(e.probe.recv) >= (1-lossHigh)*float64(e.probe.sent) {
			// The link carried the probe: hold the estimate at what it
			// carried while the allocator upgrades onto it. Without this a
			// thin stream (audio only, with video paused) undoes the probe
			// at the next delay wobble — a decrease is 0.85 × the acked
			// rate, which is the thin stream's — and recovery takes one
			// confirmed probe per backoff. The media that then flows is
			// what the controllers judge once the hold ends.
			e.probeFloor = max(e.probeFloor, carried)
			e.floorConfirmed = true
		} else {
			// Keep the floor a little longer, but no higher than the
			// probe showed the link carries.
			e.probeFloor = min(e.probeFloor, carried)
		}
		e.probeFloorUntilNs = nowNs + probeFloorHoldNs
	}
	if nowNs < e.probeFloorUntilNs {
		e.rate.est = max(e.rate.est, e.probeFloor)
		e.loss.est = max(e.loss.est, e.probeFloor)
	}
	if probeDone && probeRes.MeasuredBps > 0 && u != usageOveruse {
		e.rate.raiseTo(0.95 * float64(probeRes.MeasuredBps))
		// The probe's own loss, not a possibly stale loss window, decides
		// whether the loss-based estimate may follow.
		if float64(e.probe.recv) >= (1-lossHigh)*float64(e.probe.sent) {
			e.loss.est = max(e.loss.est, min(e.rate.est, 0.95*float64(probeRes.MeasuredBps)))
		}
	}
	if after := min(e.rate.est, e.loss.est); after < cutRatio*before {
		e.staleBeforeNs = nowNs
		e.loss.lost, e.loss.total = 0, 0
	}
	e.recomputeLocked(min(e.rate.est, e.loss.est))
	e.notifyAndUnlock(probeRes, probeDone)
	return nil
}

// drainingLocked reports whether a standing queue of minQueue is draining
// (see OnTransportCC), moving the reference along as it shrinks.
func (e *Estimator) drainingLocked(minQueue float64, nowNs int64) bool {
	if e.drainRef == 0 {
		return false
	}
	if minQueue < e.drainRef-drainMarginNs {
		e.drainRef, e.drainRefNs = minQueue, nowNs
		return true
	}
	return nowNs-e.drainRefNs < drainWindowNs
}

// OnREMB feeds a receiver estimated maximum bitrate. It drives the estimate
// only while no TWCC feedback arrives.
func (e *Estimator) OnREMB(r *rtcp.ReceiverEstimatedMaximumBitrate, now time.Time) {
	nowNs := now.UnixNano()
	e.mu.Lock()
	e.rembBps = float64(r.Bitrate)
	if e.twccFresh(nowNs) {
		e.mu.Unlock()
		return
	}
	e.setMode(ModeREMB)
	if e.loss.haveMeasured {
		e.loss.est = min(e.loss.est, e.rembBps)
	} else {
		e.loss.est = e.rembBps
	}
	e.recomputeLocked(min(e.rembBps, e.loss.est))
	e.notifyAndUnlock(ProbeResult{}, false)
}

// OnReceptionReport feeds a receiver report block: in REMB mode its loss
// fraction drives the loss-based estimate.
func (e *Estimator) OnReceptionReport(r rtcp.ReceptionReport, now time.Time) {
	nowNs := now.UnixNano()
	e.mu.Lock()
	if e.twccFresh(nowNs) || e.rembBps == 0 {
		e.mu.Unlock()
		return
	}
	e.loss.apply(float64(r.FractionLost)/256, e.rembBps, 0, false, nowNs)
	e.recomputeLocked(min(e.rembBps, e.loss.est))
	e.notifyAndUnlock(ProbeResult{}, false)
}

// Stats returns a snapshot of the estimator's state.
func (e *Estimator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return Stats{
		Mode: e.mode, Estimate: e.estimate,
		DelayBasedBps: int(e.rate.est), LossBasedBps: int(e.loss.est), AckedBps: int(e.acked.bps()), SentBps: int(e.sent.bps()),
		LossRatio: e.loss.lastRatio, Usage: e.delay.verdict.String(), Trend: e.delay.lastTrendValue,
		Threshold: e.delay.threshold, RTT: time.Duration(e.rttNs), QueueDelay: time.Duration(e.lastQueueNs),
	}
}

func (e *Estimator) twccFresh(nowNs int64) bool {
	return e.lastTWCCNs != 0 && nowNs-e.lastTWCCNs < twccStaleNs
}

// setMode is called with mu held.
func (e *Estimator) setMode(m Mode) {
	if e.mode != m {
		e.cfg.Logger.Info("bandwidth estimation mode", "from", e.mode.String(), "to", m.String())
		e.mode = m
	}
}

// updateRTT is called with mu held. The sample includes the receiver's
// feedback interval, which only makes the decrease spacing more cautious.
func (e *Estimator) updateRTT(sampleNs int64) {
	if sampleNs <= 0 {
		return
	}
	if e.rttNs == 0 {
		e.rttNs = sampleNs
	} else {
		e.rttNs += int64(rttSmoothing * float64(sampleNs-e.rttNs))
	}
	e.rate.rttNs = e.rttNs
}

// recomputeLocked is called with mu held.
func (e *Estimator) recomputeLocked(bps float64) {
	e.estimate = int(min(max(bps, float64(e.cfg.MinBitrate)), float64(e.cfg.MaxBitrate)))
}

// notifyAndUnlock releases mu, then runs the callbacks that are due.
func (e *Estimator) notifyAndUnlock(probeRes ProbeResult, probeDone bool) {
	est, onChange, onProbe := e.estimate, e.onChange, e.onProbe
	changed := float64(abs(est-e.notified)) >= notifyChangeFrac*float64(e.notified)
	if changed {
		e.notified = est
	}
	e.mu.Unlock()
	if probeDone && onProbe != nil {
		onProbe(probeRes)
	}
	if changed && onChange != nil {
		onChange(est)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
