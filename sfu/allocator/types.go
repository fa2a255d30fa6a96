// Package allocator decides, per subscriber, which simulcast/temporal layer of
// every subscribed track to forward within the subscriber's bandwidth
// estimate, and why a track is paused.
//
// It is pure decision logic: Allocate is a pure function of its inputs, and
// Subscriber wraps it in a small state machine (hysteresis, hold-down,
// keyframe-gated switches, probing) driven by an injected clock. The SFU core
// owns packets, keyframe requests and padding; it calls in here on a tick and
// on events and applies the outputs.
package allocator

import "strings"

// MaxSpatial and MaxTemporal bound the layer grid (q/h/f × up to four VP8
// temporal layers).
const (
	MaxSpatial  = 3
	MaxTemporal = 4
)

// Kind is the media kind of a track.
type Kind uint8

// Track kinds.
const (
	KindAudio Kind = iota
	KindVideo
)

// Class orders tracks by how much a classroom needs them. Lower is more
// important: a muted whiteboard costs the lesson more than a muted student.
type Class uint8

// Track classes, most important first.
const (
	ClassAudio        Class = iota // microphones; never paused for bandwidth
	ClassScreen                    // whiteboard and screen share
	ClassMasterCamera              // the teacher's (or the current presenter's) camera
	ClassCamera                    // every other camera: tiles ordered by speaker rank
)

// PauseReason is a set of reasons a track is not being forwarded. A track is
// forwarded again as soon as the set is empty; keeping every reason (rather
// than the last one seen) is what stops a track staying paused after, say,
// congestion clears while the publisher was muted (LiveKit #2037/#2069).
type PauseReason uint8

// Pause reasons; combine with |.
const (
	PauseBandwidth PauseReason = 1 << iota
	PausePublisherMuted
	PauseSubscriberDisabled
	PauseLayerMissing
)

// Has reports whether all reasons in r2 are in r.
func (r PauseReason) Has(r2 PauseReason) bool { return r&r2 == r2 && r2 != 0 }

func (r PauseReason) String() string {
	if r == 0 {
		return "none"
	}
	names := []struct {
		r PauseReason
		s string
	}{
		{PauseBandwidth, "bandwidth"},
		{PausePublisherMuted, "publisher-muted"},
		{PauseSubscriberDisabled, "subscriber-disabled"},
		{PauseLayerMissing, "layer-missing"},
	}
	var parts []string
	for _, n := range names {
		if r.Has(n.r) {
			parts = append(parts, n.s)
		}
	}
	return strings.Join(parts, "|")
}

// Dimensions is a spatial layer's picture size.
type Dimensions struct {
	Width, Height int
}

// Request is what the subscriber asked for (LiveKit UpdateTrackSettings).
// Its zero value means "enabled, best quality available".
type Request struct {
	Disabled bool
	// MaxSpatial caps the spatial layer (0=q, 1=h, 2=f). -1 or 0 together
	// with HasMaxSpatial=false means no cap.
	MaxSpatial    int
	HasMaxSpatial bool
	// Width/Height, when set, pick the smallest layer at least this large
	// (LiveKit semantics: the client renders into a box that size).
	Width, Height int
	// FPS, when set, picks the lowest temporal layer giving at least FPS.
	FPS int
}

// Track is one subscribed track as the allocator sees it on one tick.
type Track struct {
	ID    string
	Kind  Kind
	Class Class
	// Priority orders tracks within a class; higher goes first (a pinned
	// tile, the student called on).
	Priority int
	// SpeakerRank orders cameras after priority: 0 = current speaker.
	SpeakerRank int
	// Bitrates[s][t] is the measured bitrate (bps) of spatial layer s
	// forwarded with temporal layers 0..t. A spatial layer whose row is all
	// zero is not being received from the publisher ("missing"). Tracks
	// without temporal layers fill column 0 only. Audio uses [0][0].
	Bitrates [MaxSpatial][MaxTemporal]int
	// Dims are the spatial layers' sizes, for Request.Width/Height.
	Dims [MaxSpatial]Dimensions
	// FPS[t] is the frame rate with temporal layers 0..t, for Request.FPS.
	FPS            [MaxTemporal]int
	Request        Request
	PublisherMuted bool
	// Forwarding says the track is flowing to the subscriber now (set by
	// Subscriber.Update from its own state). A flowing video track keeps
	// its lowest layer while the budget left for it covers 70 % of that
	// layer: pausing is a much bigger step than any layer switch, and
	// right after a congestion cut the estimate sits ~15 % under what the
	// link carries (the cut is 0.85 × the acknowledged rate).
	Forwarding bool
}

// Layer is a (spatial, temporal) pair.
type Layer struct {
	Spatial, Temporal int
}

// Less orders layers by spatial, then temporal.
func (l Layer) Less(o Layer) bool {
	if l.Spatial != o.Spatial {
		return l.Spatial < o.Spatial
	}
	return l.Temporal < o.Temporal
}

// TrackAllocation is the decision for one track.
type TrackAllocation struct {
	TrackID string
	// Layer is the layer to forward; meaningless when Paused.
	Layer   Layer
	Paused  bool
	Reasons PauseReason
	// Bitrate is the bitrate the allocation counts for this track.
	Bitrate int
	// Want is the layer the track would get with unlimited bandwidth (the
	// subscriber's request applied to the layers being received); Paused
	// tracks with reasons other than bandwidth have no Want.
	Want     Layer
	WantsAny bool
}

// Deficit is how many spatial layers below its want the track is; a track
// paused for bandwidth counts its whole want plus one.
func (a TrackAllocation) Deficit() int {
	if !a.WantsAny {
		return 0
	}
	if a.Paused {
		return a.Want.Spatial + 1
	}
	return a.Want.Spatial - a.Layer.Spatial
}

// Allocation is the result of Allocate.
type Allocation struct {
	Tracks []TrackAllocation // in input order
	// Total is the sum of the tracks' bitrates.
	Total int
	// Budget is the bandwidth the allocation was made for.
	Budget int
	// NextUpgradeTotal is the total bitrate the next single upgrade step
	// (in priority order) would need; 0 when every track has its want.
	NextUpgradeTotal int
}
