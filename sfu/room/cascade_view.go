package room

import (
	"fmt"

	"github.com/livekit/protocol/livekit"

	"github.com/classcast/classcast/sfu/forward"
	"github.com/classcast/classcast/sfu/track"
)

// What the cascade (sfu/node/cascade.go) reads from a room: the
// participants to announce to neighbor nodes and the tracks to serve them.

// Announcement is one visible participant with its tracks' codecs.
type Announcement struct {
	Info   *livekit.ParticipantInfo
	Tracks map[string]track.Info
	// External is true for ingest participants and mirrors.
	External bool
	// Publisher is true when the participant may publish.
	Publisher bool
}

// AnnounceOnLoop lists the visible participants (hidden ones are never
// announced). Call on the room loop.
func (r *Room) AnnounceOnLoop() []Announcement {
	out := make([]Announcement, 0, len(r.participants))
	for _, p := range r.sorted() {
		if p.hidden {
			continue
		}
		a := Announcement{Info: p.Info(), Tracks: map[string]track.Info{}, External: p.external,
			Publisher: p.Grants().GetCanPublish()}
		p.mu.Lock()
		for sid, t := range p.tracks {
			if t.announced {
				a.Tracks[sid] = t.up.Info()
			}
		}
		p.mu.Unlock()
		out = append(out, a)
	}
	return out
}

// CascadeTrack is a published track (local or mirrored) as served to
// cascade children.
type CascadeTrack struct {
	Up *forward.UpTrack
	t  *publishedTrack
}

// FindCascadeTrack looks a visible track up by SID. Not on the room loop.
func (r *Room) FindCascadeTrack(sid string) (CascadeTrack, error) {
	var ct CascadeTrack
	err := r.do(func() {
		for _, p := range r.participants {
			p.mu.Lock()
			t, ok := p.tracks[sid]
			p.mu.Unlock()
			if ok && t.announced {
				ct = CascadeTrack{Up: t.up, t: t}
				return
			}
		}
	})
	if err != nil {
		return CascadeTrack{}, err
	}
	if ct.Up == nil {
		return CascadeTrack{}, fmt.Errorf("%w: track %s in room %s", ErrNotFound, sid, r.name)
	}
	return ct, nil
}

// SetNeed tells the publisher's dynacast that a downstream node needs the
// track's layers up to layer; RemoveNeed forgets it. Mirrored tracks have
// no dynacast: their needs are computed from RawLayers instead.
func (c CascadeTrack) SetNeed(consumer string, layer int) { c.t.setNeed(consumer, layer) }

// RemoveNeed forgets a downstream consumer's need.
func (c CascadeTrack) RemoveNeed(consumer string) { c.t.removeNeed(consumer) }
