package room

import (
	"maps"
	"slices"

	"github.com/livekit/protocol/livekit"

	"github.com/classcast/classcast/sfu/allocator"
)

// PublishedTrack is a published track's state as the SFU sees it, for the
// admin API: which simulcast layers arrive, at what rate, and which ones
// dynacast asks the publisher to send.
type PublishedTrack struct {
	TrackSID string           `json:"track_sid"`
	Kind     string           `json:"kind"`
	Muted    bool             `json:"muted"`
	Layers   []PublishedLayer `json:"layers"`
}

// PublishedLayer is one received layer.
type PublishedLayer struct {
	Quality string `json:"quality"`
	// Active: packets arrived recently.
	Active     bool   `json:"active"`
	BitrateBps uint64 `json:"bitrate_bps"`
	// Requested: dynacast asks the publisher to send it (video only).
	Requested bool `json:"requested"`
}

// Published lists the participant's published tracks.
func (p *Participant) Published() []PublishedTrack {
	p.mu.Lock()
	tracks := slices.Collect(maps.Values(p.tracks))
	p.mu.Unlock()
	out := make([]PublishedTrack, 0, len(tracks))
	for _, t := range tracks {
		up := t.up
		pt := PublishedTrack{TrackSID: up.Info().SID, Kind: up.Info().Kind.String(), Muted: up.Muted()}
		active := up.ActiveLayers()
		t.mu.Lock()
		var requested [allocator.MaxSpatial]bool
		if t.dyn != nil {
			requested = t.dyn.Enabled()
		}
		t.mu.Unlock()
		for l := range up.Layers() {
			pl := PublishedLayer{Quality: livekit.VideoQuality(l).String(), Active: active&(1<<l) != 0, BitrateBps: up.LayerBitrate(l)}
			if l < len(requested) {
				pl.Requested = requested[l] || t.dyn == nil
			}
			pt.Layers = append(pt.Layers, pl)
		}
		out = append(out, pt)
	}
	return out
}
