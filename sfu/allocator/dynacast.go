package allocator

import (
	"time"

	"github.com/livekit/protocol/livekit"
)

// DynacastConfig tunes a Dynacast. Its zero value is valid.
type DynacastConfig struct {
	// OffDelay is how long a layer must be unneeded before the publisher is
	// told to stop sending it. Turning on is immediate. It defaults to 5 s:
	// a subscriber oscillating between layers, or a tile briefly scrolled
	// away, must not make the publisher's encoder restart a layer (and send
	// a keyframe) every few seconds.
	OffDelay time.Duration
}

// Dynacast computes, for one published video track, which spatial layers
// the publisher must send: the union of what its subscribers on this node
// and downstream nodes (cascade) need. It is not safe for concurrent use.
//
// A consumer needing layer s makes every layer up to s enabled: the lower
// layers are what a congested subscriber falls back to at once, and what a
// new subscriber starts on, and they cost the publisher little.
type Dynacast struct {
	cfg DynacastConfig

	needs map[string]int // consumer → highest spatial layer needed; -1 none

	started       bool
	enabled       [MaxSpatial]bool
	unneededSince [MaxSpatial]time.Time
}

// NewDynacast returns a Dynacast for one track; until its first Update every
// layer counts as enabled (the publisher starts with all of them).
func NewDynacast(cfg DynacastConfig) *Dynacast {
	if cfg.OffDelay <= 0 {
		cfg.OffDelay = 5 * time.Second
	}
	d := &Dynacast{cfg: cfg, needs: make(map[string]int)}
	for s := range d.enabled {
		d.enabled[s] = true
	}
	return d
}

// SetNeed records the highest spatial layer consumer needs (-1: none). For a
// local subscriber use NeedOf its TrackDecision; for a downstream node, the
// highest layer over its own consumers.
func (d *Dynacast) SetNeed(consumer string, maxSpatial int) {
	d.needs[consumer] = min(maxSpatial, MaxSpatial-1)
}

// Remove forgets a consumer (unsubscribed, node gone).
func (d *Dynacast) Remove(consumer string) { delete(d.needs, consumer) }

// NeedOf is the highest spatial layer a subscriber's decision needs now: the
// layer being forwarded and the one being switched to; -1 when the track is
// neither forwarded nor about to be.
func NeedOf(td TrackDecision) int {
	need := -1
	if td.Forwarding {
		need = td.Current.Spatial
	}
	if !td.Target.Paused {
		need = max(need, td.Target.Layer.Spatial)
	}
	return need
}

// Update evaluates the layers at now. It returns the subscribed qualities
// (one per spatial layer), whether they changed since the last call that
// reported a change, and when to call again at the latest for a pending
// switch-off (zero if none is pending).
func (d *Dynacast) Update(now time.Time) (qualities []*livekit.SubscribedQuality, changed bool, recheck time.Time) {
	top := -1
	for _, n := range d.needs {
		top = max(top, n)
	}
	if !d.started {
		d.started = true
		changed = true // first report: tell the publisher what is needed
	}
	for s := range MaxSpatial {
		needed := s <= top
		switch {
		case needed:
			d.unneededSince[s] = time.Time{}
			if !d.enabled[s] {
				d.enabled[s], changed = true, true
			}
		case d.enabled[s]:
			if d.unneededSince[s].IsZero() {
				d.unneededSince[s] = now
			}
			off := d.unneededSince[s].Add(d.cfg.OffDelay)
			if !now.Before(off) {
				d.enabled[s], changed = false, true
				d.unneededSince[s] = time.Time{}
			} else if recheck.IsZero() || off.Before(recheck) {
				recheck = off
			}
		}
	}
	qualities = make([]*livekit.SubscribedQuality, MaxSpatial)
	for s := range MaxSpatial {
		qualities[s] = &livekit.SubscribedQuality{Quality: livekit.VideoQuality(s), Enabled: d.enabled[s]}
	}
	return qualities, changed, recheck
}

// Enabled reports which spatial layers the publisher is asked to send.
func (d *Dynacast) Enabled() [MaxSpatial]bool { return d.enabled }

// QualityUpdate wraps qualities into the signal message for the publisher,
// filling both the per-codec list and the deprecated flat one (older SDKs).
func QualityUpdate(trackSID, codecMime string, qualities []*livekit.SubscribedQuality) *livekit.SubscribedQualityUpdate {
	return &livekit.SubscribedQualityUpdate{
		TrackSid:            trackSID,
		SubscribedQualities: qualities,
		SubscribedCodecs:    []*livekit.SubscribedCodec{{Codec: codecMime, Qualities: qualities}},
	}
}
