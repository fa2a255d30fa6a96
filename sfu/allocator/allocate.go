package allocator

import (
	"cmp"
	"slices"
)

// Config tunes the allocation. Its zero value is valid.
type Config struct {
	// Headroom is the fraction of the estimate left unallocated, so that
	// bitrate spikes (keyframes, retransmissions) do not immediately cause
	// queueing. It defaults to 0.05; a negative value means none.
	Headroom float64
	// DefaultAudioBitrate is counted for an audio track whose bitrate has
	// not been measured yet. It defaults to 32 kbit/s (Opus voice).
	DefaultAudioBitrate int
}

const (
	defaultHeadroom     = 0.05
	defaultAudioBitrate = 32_000
	// keepLowest: see Track.Forwarding. A delay-based cut leaves 0.85 × the
	// acknowledged rate, less the headroom; on a link that carries exactly
	// audio + the lowest layer that is about 75 % of the layer once audio
	// is served, so anything stricter pauses video the link can carry.
	keepLowest = 0.7
)

func (c Config) withDefaults() Config {
	if c.Headroom == 0 {
		c.Headroom = defaultHeadroom
	}
	if c.Headroom < 0 {
		c.Headroom = 0
	}
	if c.DefaultAudioBitrate <= 0 {
		c.DefaultAudioBitrate = defaultAudioBitrate
	}
	return c
}

// Budget is the part of estimate the allocator hands out.
func (c Config) Budget(estimate int) int {
	return c.withDefaults().budget(estimate)
}

// budget expects c to have its defaults filled.
func (c Config) budget(estimate int) int {
	return int(float64(estimate) * (1 - c.Headroom))
}

// Allocate decides the layer of every track for a bandwidth estimate (bps).
//
// Order: audio first (never paused for bandwidth: it is tiny and a lesson
// without it is lost), then whiteboard/screen share, master camera, other
// cameras; within a class by Priority (higher first), then SpeakerRank. Every
// video track first gets its lowest layer in that order (a track whose
// lowest layer does not fit is paused for bandwidth, and cheaper tracks after
// it still get theirs); then tracks are upgraded in the same order, each as
// far as the remaining budget allows. The video total never exceeds the
// budget, with one exception for hysteresis: a track already flowing keeps
// its lowest layer while the budget left covers keepLowest of it, and the
// tracks after it then share what is left (nothing).
func Allocate(estimate int, tracks []Track, cfg Config) Allocation {
	cfg = cfg.withDefaults()
	res := Allocation{Tracks: make([]TrackAllocation, len(tracks)), Budget: cfg.budget(estimate)}
	order := make([]int, 0, len(tracks))
	for i := range tracks {
		ta := &res.Tracks[i]
		ta.TrackID = tracks[i].ID
		want, reasons := wantOf(&tracks[i])
		if reasons != 0 {
			ta.Paused, ta.Reasons = true, reasons
			continue
		}
		ta.Want, ta.WantsAny = want, true
		order = append(order, i)
	}
	slices.SortStableFunc(order, func(a, b int) int { return compareTracks(&tracks[a], &tracks[b]) })

	remaining := res.Budget
	// Audio: always, first.
	for _, i := range order {
		if tracks[i].Kind != KindAudio {
			continue
		}
		br := tracks[i].Bitrates[0][0]
		if br <= 0 {
			br = cfg.DefaultAudioBitrate
		}
		res.Tracks[i].Bitrate = br
		remaining -= br
	}
	remaining = max(remaining, 0)
	// Video, pass 1: everyone's lowest layer.
	for _, i := range order {
		t, ta := &tracks[i], &res.Tracks[i]
		if t.Kind != KindVideo {
			continue
		}
		low := lowestLayer(t)
		br := t.Bitrates[low.Spatial][low.Temporal]
		keep := t.Forwarding && float64(remaining) >= keepLowest*float64(br)
		if br > remaining && !keep {
			ta.Paused, ta.Reasons = true, PauseBandwidth
			continue
		}
		ta.Layer, ta.Bitrate = low, br
		remaining = max(remaining-br, 0)
	}
	// Video, pass 2: upgrade in priority order, each track as far as it goes.
	for _, i := range order {
		t, ta := &tracks[i], &res.Tracks[i]
		if t.Kind != KindVideo || ta.Paused {
			continue
		}
		if l, ok := bestFitting(t, ta.Want, ta.Layer, remaining+ta.Bitrate); ok {
			remaining -= t.Bitrates[l.Spatial][l.Temporal] - ta.Bitrate
			ta.Layer, ta.Bitrate = l, t.Bitrates[l.Spatial][l.Temporal]
		}
	}
	for i := range res.Tracks {
		res.Total += res.Tracks[i].Bitrate
	}
	res.NextUpgradeTotal = nextUpgradeTotal(tracks, res, order)
	return res
}

func compareTracks(a, b *Track) int {
	ca, cb := a.Class, b.Class
	if a.Kind == KindAudio {
		ca = ClassAudio
	}
	if b.Kind == KindAudio {
		cb = ClassAudio
	}
	return cmp.Or(
		cmp.Compare(ca, cb),
		cmp.Compare(b.Priority, a.Priority),
		cmp.Compare(a.SpeakerRank, b.SpeakerRank),
		cmp.Compare(a.ID, b.ID),
	)
}

// wantOf applies the subscriber's request to the layers being received.
func wantOf(t *Track) (Layer, PauseReason) {
	var reasons PauseReason
	if t.Request.Disabled {
		reasons |= PauseSubscriberDisabled
	}
	if t.PublisherMuted {
		reasons |= PausePublisherMuted
	}
	if t.Kind == KindAudio || reasons != 0 {
		return Layer{}, reasons
	}
	maxS := requestedMaxSpatial(t)
	s := -1
	for cand := maxS; cand >= 0; cand-- {
		if t.Bitrates[cand][0] > 0 {
			s = cand
			break
		}
	}
	if s < 0 {
		return Layer{}, PauseLayerMissing
	}
	maxT := requestedMaxTemporal(t)
	tl := 0
	for cand := maxT; cand > 0; cand-- {
		if t.Bitrates[s][cand] > 0 {
			tl = cand
			break
		}
	}
	return Layer{Spatial: s, Temporal: tl}, 0
}

func requestedMaxSpatial(t *Track) int {
	maxS := MaxSpatial - 1
	r := t.Request
	if r.HasMaxSpatial && r.MaxSpatial >= 0 {
		maxS = min(maxS, r.MaxSpatial)
	}
	if r.Width > 0 || r.Height > 0 {
		// The smallest known layer at least as large as the box; the top
		// known layer when none is.
		fit := -1
		for s := range MaxSpatial {
			d := t.Dims[s]
			if d.Width == 0 && d.Height == 0 {
				continue
			}
			fit = s
			if d.Width >= r.Width && d.Height >= r.Height {
				break
			}
		}
		if fit >= 0 {
			maxS = min(maxS, fit)
		}
	}
	return maxS
}

func requestedMaxTemporal(t *Track) int {
	if t.Request.FPS <= 0 {
		return MaxTemporal - 1
	}
	fit := -1
	for tl := range MaxTemporal {
		if t.FPS[tl] == 0 {
			continue
		}
		fit = tl
		if t.FPS[tl] >= t.Request.FPS {
			break
		}
	}
	if fit < 0 {
		return MaxTemporal - 1
	}
	return fit
}

// lowestLayer is the cheapest layer being received (temporal base layer of
// the lowest received spatial layer).
func lowestLayer(t *Track) Layer {
	for s := range MaxSpatial {
		if t.Bitrates[s][0] > 0 {
			return Layer{Spatial: s}
		}
	}
	return Layer{}
}

// bestFitting is the highest layer (spatial first: a sharper picture of the
// board or the teacher reads better than a smoother small one) above cur and at most want (temporal
// capped at want.Temporal on every spatial layer) whose bitrate fits.
func bestFitting(t *Track, want, cur Layer, budget int) (Layer, bool) {
	for s := want.Spatial; s >= cur.Spatial; s-- {
		for tl := want.Temporal; tl >= 0; tl-- {
			l := Layer{Spatial: s, Temporal: tl}
			if !cur.Less(l) {
				return Layer{}, false
			}
			br := t.Bitrates[s][tl]
			if br > 0 && br <= budget {
				return l, true
			}
		}
	}
	return Layer{}, false
}

// nextStep is the next layer above cur towards want (for a paused track, its
// lowest layer).
func nextStep(t *Track, ta *TrackAllocation) (Layer, bool) {
	if ta.Paused {
		return lowestLayer(t), true
	}
	for s := ta.Layer.Spatial; s <= ta.Want.Spatial; s++ {
		for tl := 0; tl <= ta.Want.Temporal; tl++ {
			l := Layer{Spatial: s, Temporal: tl}
			if ta.Layer.Less(l) && t.Bitrates[s][tl] > 0 {
				return l, true
			}
		}
	}
	return Layer{}, false
}

func nextUpgradeTotal(tracks []Track, res Allocation, order []int) int {
	for _, i := range order {
		t, ta := &tracks[i], &res.Tracks[i]
		if t.Kind != KindVideo {
			continue
		}
		l, ok := nextStep(t, ta)
		if !ok {
			continue
		}
		return res.Total + t.Bitrates[l.Spatial][l.Temporal] - ta.Bitrate
	}
	return 0
}
