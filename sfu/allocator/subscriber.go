package allocator

import (
	"fmt"
	"math"
	"time"
)

// SubscriberConfig tunes the per-subscriber dynamics. Its zero value is valid.
type SubscriberConfig struct {
	Alloc Config
	// UpgradeMargin: an upgrade is made only while the estimate is at least
	// this multiple of what the upgraded allocation needs. It defaults to 1.2.
	UpgradeMargin float64
	// HoldTime is how long the estimate must stay above the upgraded
	// allocation's need (times UpgradeMargin) before upgrading. It defaults
	// to 2 s.
	HoldTime time.Duration
	// ProbeSettle is how long after an upgrade the next probe waits, so the
	// upgraded layer shows in the estimate first. It defaults to HoldTime.
	ProbeSettle time.Duration
	// HoldDown is how long no upgrade is made after a congestion drop. It
	// defaults to 5 s; it doubles (up to MaxHoldDown) when a drop follows an
	// upgrade within OscillationWindow, and returns to HoldDown otherwise.
	HoldDown time.Duration
	// MaxHoldDown defaults to 20 s.
	MaxHoldDown time.Duration
	// OscillationWindow defaults to 20 s.
	OscillationWindow time.Duration
	// KeyframeRetry is how often a keyframe is re-requested while a switch
	// waits for one. It defaults to 1 s.
	KeyframeRetry time.Duration
	// ProbeDuration is how long probe padding is sent. It defaults to 1 s.
	ProbeDuration time.Duration
	// RetryProbeDuration is the length of a probe after a failed one, until
	// one confirms. A probe that fails overfills the link's buffer by
	// (target − link) × duration — on an 80 kbit/s link with a deep buffer,
	// over a second of queued audio for a 600 ms probe — so a link that
	// stays bad gets short probes. It defaults to ProbeDuration.
	RetryProbeDuration time.Duration
	// ProbeTimeout is how long after a probe ends a missing result counts as
	// a failure. It defaults to 2 s.
	ProbeTimeout time.Duration
	// ProbeBackoff is the wait before probing again after a failed probe.
	// It defaults to 5 s and doubles on each failure up to MaxProbeBackoff.
	ProbeBackoff time.Duration
	// MaxProbeBackoff defaults to 10 s. It bounds how long a link that got
	// better goes unnoticed (while a subscriber sends less than its
	// estimate, only a probe can show the estimate is too low); the price
	// is one failed 1 s probe per 10 s on a link that stays bad.
	MaxProbeBackoff time.Duration
	// ProbeMultiplier: a probe aims at least this multiple of the estimate
	// (capped at what every track's want needs), so that recovering from a
	// deep cut takes a few probes rather than one per layer. It defaults
	// to 2.
	ProbeMultiplier float64
	// MaxProbeMultiplier bounds the growth of the multiplier: each probe
	// confirmed in a row doubles it (as libwebrtc probes further at twice
	// a successful rate), a failed probe or a congestion drop resets it. It
	// defaults to 4 × ProbeMultiplier.
	MaxProbeMultiplier float64
}

func (c SubscriberConfig) withDefaults() SubscriberConfig {
	c.Alloc = c.Alloc.withDefaults()
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.UpgradeMargin < 1 {
		c.UpgradeMargin = 1.2
	}
	def(&c.HoldTime, 2*time.Second)
	def(&c.ProbeSettle, c.HoldTime)
	def(&c.HoldDown, 5*time.Second)
	def(&c.MaxHoldDown, 20*time.Second)
	def(&c.OscillationWindow, 20*time.Second)
	def(&c.KeyframeRetry, time.Second)
	def(&c.ProbeDuration, time.Second)
	def(&c.RetryProbeDuration, c.ProbeDuration)
	def(&c.ProbeTimeout, 2*time.Second)
	def(&c.ProbeBackoff, 5*time.Second)
	def(&c.MaxProbeBackoff, 10*time.Second)
	if c.ProbeMultiplier < 1 {
		c.ProbeMultiplier = 2
	}
	if c.MaxProbeMultiplier < c.ProbeMultiplier {
		c.MaxProbeMultiplier = 4 * c.ProbeMultiplier
	}
	return c
}

// linkWorseRatio: see onCongestionDrop.
const linkWorseRatio = 0.7

// TrackDecision is what the core does with one track after an Update.
type TrackDecision struct {
	// Target is where the allocator wants the track (layer or pause, with
	// the reasons).
	Target TrackAllocation
	// Forwarding is false while the track is paused (or waiting for a
	// keyframe to resume); Current is the layer to forward meanwhile.
	Forwarding bool
	Current    Layer
	// Pending is true while a spatial switch (or a resume) waits for a
	// keyframe of Target.Layer; call Subscriber.OnKeyframe when one arrives.
	Pending bool
	// RequestKeyframe asks the core to request a keyframe of
	// Target.Layer.Spatial from the publisher now (re-asserted every
	// KeyframeRetry while Pending).
	RequestKeyframe bool
}

// ProbeRequest asks the core to send padding so that the bandwidth estimator
// can confirm a higher rate before an upgrade.
type ProbeRequest struct {
	// TargetBps is the total send rate to reach: media plus padding.
	TargetBps int
	// PaddingBps is the padding to add to the current media rate.
	PaddingBps int
	Duration   time.Duration
}

// Decision is the output of Subscriber.Update.
type Decision struct {
	Tracks []TrackDecision // in input order
	// Probe, when set, asks for probe padding to start now; report its
	// outcome with Subscriber.OnProbeResult.
	Probe *ProbeRequest
	// AllowedBps is the estimate the allocation is currently made for
	// (moves down at once, up with hysteresis).
	AllowedBps int
	// UpgradeBlockedUntil is the end of the hold-down, if one is running.
	UpgradeBlockedUntil time.Time
}

type trackState struct {
	target         TrackAllocation
	forwarding     bool
	current        Layer
	pending        bool
	lastKeyframeRq time.Time
	requested      int // spatial layer the last keyframe request was for
}

// Subscriber is the allocator state machine of one subscriber. It is not
// safe for concurrent use: the subscriber's owner goroutine calls Update on
// every tick (and after any input change), OnKeyframe when a keyframe of a
// subscribed track arrives, and OnProbeResult when a probe ends.
type Subscriber struct {
	cfg SubscriberConfig

	allowed     int // estimate the allocation is made for; <0 before the first Update
	upSince     time.Time
	lastDrop    time.Time
	lastUpgrade time.Time
	holdDown    time.Duration
	// preUpgrade is what was allowed before the last upgrade: a drop that
	// lands well below it is the link getting worse, not that upgrade
	// failing, and does not count as an oscillation.
	preUpgrade int

	probeUntil     time.Time // non-zero while a probe is in flight
	lastProbeEnd   time.Time
	probeConfirmed bool
	probeMult      float64 // current multiplier (see MaxProbeMultiplier)
	probeFailed    bool    // the last probe failed (see RetryProbeDuration)
	nextProbe      time.Time
	probeBackoff   time.Duration

	tracks map[string]*trackState
}

// NewSubscriber returns the state machine of a new subscriber.
func NewSubscriber(cfg SubscriberConfig) *Subscriber {
	cfg = cfg.withDefaults()
	return &Subscriber{
		cfg:          cfg,
		allowed:      -1,
		holdDown:     cfg.HoldDown,
		probeBackoff: cfg.ProbeBackoff,
		tracks:       make(map[string]*trackState),
	}
}

// Update runs one allocation round for the bandwidth estimate (bps) and the
// subscriber's tracks as they are now. Tracks no longer listed are forgotten.
func (s *Subscriber) Update(now time.Time, estimate int, tracks []Track) Decision {
	if !s.probeUntil.IsZero() && !now.Before(s.probeUntil.Add(s.cfg.ProbeTimeout)) {
		s.OnProbeResult(now, false) // no result: count it as failed
	}
	for i := range tracks {
		st := s.tracks[tracks[i].ID]
		tracks[i].Forwarding = st != nil && st.forwarding && !st.target.Paused
	}
	alloc := s.moveAllowed(now, estimate, tracks)
	dec := Decision{Tracks: make([]TrackDecision, len(tracks)), AllowedBps: s.allowed}
	if end := s.lastDrop.Add(s.holdDown); !s.lastDrop.IsZero() && now.Before(end) {
		dec.UpgradeBlockedUntil = end
	}
	seen := make(map[string]bool, len(tracks))
	for i := range tracks {
		id := tracks[i].ID
		seen[id] = true
		st := s.tracks[id]
		if st == nil {
			st = &trackState{}
			s.tracks[id] = st
		}
		dec.Tracks[i] = s.applyTarget(now, st, &tracks[i], alloc.Tracks[i])
	}
	for id := range s.tracks {
		if !seen[id] {
			delete(s.tracks, id)
		}
	}
	dec.Probe = s.maybeProbe(now, estimate, alloc, tracks)
	return dec
}

// moveAllowed moves the allowed estimate: down at once, up only after the
// estimate has held above the upgrade's need (with margin) for HoldTime, no
// hold-down is running, or a probe confirmed it.
func (s *Subscriber) moveAllowed(now time.Time, estimate int, tracks []Track) Allocation {
	cfg := s.cfg
	if s.allowed < 0 {
		s.allowed = int(float64(estimate) / cfg.UpgradeMargin)
	}
	if estimate < s.allowed {
		before := Allocate(s.allowed, tracks, cfg.Alloc)
		s.allowed = estimate
		after := Allocate(s.allowed, tracks, cfg.Alloc)
		if after.Total < before.Total {
			s.onCongestionDrop(now, estimate)
		}
		s.upSince = time.Time{}
		return after
	}
	cur := Allocate(s.allowed, tracks, cfg.Alloc)
	upTo := int(float64(estimate) / cfg.UpgradeMargin)
	if upTo <= s.allowed {
		s.upSince = time.Time{}
		return cur
	}
	up := Allocate(upTo, tracks, cfg.Alloc)
	if up.Total <= cur.Total {
		// Nothing would change: follow the estimate silently.
		s.allowed, s.upSince = upTo, time.Time{}
		return up
	}
	if s.upSince.IsZero() {
		s.upSince = now
	}
	holdDownOver := s.lastDrop.IsZero() || now.Sub(s.lastDrop) >= s.holdDown
	held := now.Sub(s.upSince) >= cfg.HoldTime || s.probeConfirmed
	if !holdDownOver || !held || !s.probeUntil.IsZero() {
		return cur
	}
	s.preUpgrade = s.allowed
	s.allowed, s.upSince, s.lastUpgrade, s.probeConfirmed = upTo, time.Time{}, now, false
	return up
}

func (s *Subscriber) onCongestionDrop(now time.Time, estimate int) {
	// A drop during a probe or right after one is the probe's doing (the
	// probe back-off deals with that), not an upgrade that did not hold.
	probeCaused := !s.probeUntil.IsZero() || (!s.lastProbeEnd.IsZero() && now.Sub(s.lastProbeEnd) < s.cfg.HoldTime)
	// An upgrade that overshot leaves the estimate near where it was
	// before the upgrade (the link's capacity is between the two); a link
	// that got worse (a cap, a shared line filling up) drops it far below.
	linkWorse := float64(estimate) < linkWorseRatio*float64(s.preUpgrade)
	switch {
	case !s.lastDrop.IsZero() && !s.lastDrop.Before(s.lastUpgrade):
		// Another step down in the same congestion episode (no upgrade
		// since the last drop): the estimate falls in steps while a queue
		// drains, and each step is not a new oscillation. Keep the
		// hold-down as it is.
	case !probeCaused && !linkWorse && !s.lastUpgrade.IsZero() && now.Sub(s.lastUpgrade) < s.cfg.OscillationWindow:
		s.holdDown = min(2*s.holdDown, s.cfg.MaxHoldDown)
	default:
		s.holdDown = s.cfg.HoldDown
	}
	s.lastDrop = now
	s.probeConfirmed = false
	s.probeMult = 0
}

// applyTarget turns a track's target into what to forward now.
func (s *Subscriber) applyTarget(now time.Time, st *trackState, t *Track, target TrackAllocation) TrackDecision {
	st.target = target
	switch {
	case target.Paused:
		// Pausing needs no keyframe: stop at once.
		st.forwarding, st.pending = false, false
	case t.Kind == KindAudio:
		st.forwarding, st.current, st.pending = true, target.Layer, false
	case st.forwarding && st.current.Spatial == target.Layer.Spatial:
		// Temporal switches need no keyframe (the core switches at the next
		// frame the temporal layer structure allows).
		st.current, st.pending = target.Layer, false
	default:
		if !st.pending || st.requested != target.Layer.Spatial {
			// A new switch, or the pending one changed layer: ask at once.
			st.lastKeyframeRq = time.Time{}
		}
		st.pending = true
	}
	d := TrackDecision{Target: target, Forwarding: st.forwarding, Current: st.current, Pending: st.pending}
	if st.pending && (st.lastKeyframeRq.IsZero() || now.Sub(st.lastKeyframeRq) >= s.cfg.KeyframeRetry) {
		st.lastKeyframeRq, st.requested = now, target.Layer.Spatial
		d.RequestKeyframe = true
	}
	return d
}

// OnKeyframe reports that a keyframe of spatial layer spatial of track
// trackID has arrived at the SFU. It returns true when the core should
// switch to the target layer starting with this keyframe.
func (s *Subscriber) OnKeyframe(trackID string, spatial int) (bool, error) {
	st := s.tracks[trackID]
	if st == nil {
		return false, fmt.Errorf("%w: %q", ErrUnknownTrack, trackID)
	}
	if !st.pending || st.target.Layer.Spatial != spatial {
		return false, nil
	}
	st.pending, st.forwarding, st.current = false, true, st.target.Layer
	return true, nil
}

// maybeProbe asks for probe padding when the next upgrade needs more than the
// estimate gives, and no upgrade, probe or back-off is under way.
func (s *Subscriber) maybeProbe(now time.Time, estimate int, alloc Allocation, tracks []Track) *ProbeRequest {
	if !s.probeUntil.IsZero() || alloc.NextUpgradeTotal == 0 || now.Before(s.nextProbe) || !s.upSince.IsZero() {
		return nil
	}
	// Let a fresh upgrade settle (and show in the estimate) before probing on.
	if !s.lastUpgrade.IsZero() && now.Sub(s.lastUpgrade) < s.cfg.ProbeSettle {
		return nil
	}
	if !s.lastDrop.IsZero() && now.Sub(s.lastDrop) < s.holdDown {
		return nil
	}
	// Estimate at which the next upgrade would be made.
	need := s.estimateFor(alloc.NextUpgradeTotal)
	if need <= estimate {
		return nil
	}
	full := s.estimateFor(Allocate(math.MaxInt/2, tracks, s.cfg.Alloc).Total)
	target := max(need, min(int(s.probeMultiplier()*float64(estimate)), full))
	d := s.cfg.ProbeDuration
	if s.probeFailed {
		d = s.cfg.RetryProbeDuration
	}
	s.probeUntil = now.Add(d)
	return &ProbeRequest{TargetBps: target, PaddingBps: target - alloc.Total, Duration: d}
}

func (s *Subscriber) probeMultiplier() float64 {
	if s.probeMult == 0 {
		return s.cfg.ProbeMultiplier
	}
	return s.probeMult
}

// estimateFor is the estimate at which an allocation totalling total would
// be made (headroom and upgrade margin included).
func (s *Subscriber) estimateFor(total int) int {
	return int(float64(total) / (1 - s.cfg.Alloc.Headroom) * s.cfg.UpgradeMargin)
}

// OnProbeResult reports whether the last probe confirmed its target rate
// (the bandwidth estimator decides). A confirmed probe lets the next Update
// upgrade without waiting HoldTime, once the estimate covers the upgrade; a
// failed one backs off further probing.
func (s *Subscriber) OnProbeResult(now time.Time, confirmed bool) {
	s.probeUntil, s.lastProbeEnd = time.Time{}, now
	s.probeFailed = !confirmed
	if confirmed {
		s.probeConfirmed = true
		s.probeMult = min(2*s.probeMultiplier(), s.cfg.MaxProbeMultiplier)
		s.probeBackoff = s.cfg.ProbeBackoff
		s.nextProbe = time.Time{}
		return
	}
	s.nextProbe = now.Add(s.probeBackoff)
	s.probeBackoff = min(2*s.probeBackoff, s.cfg.MaxProbeBackoff)
	s.probeMult = 0
}
