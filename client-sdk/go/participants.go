package client

import (
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// RemoteParticipant is a snapshot of another participant as last announced by the server.
type RemoteParticipant struct {
	// Info is a copy of the latest accepted ParticipantInfo (tracks included).
	Info *livekit.ParticipantInfo
}

// SID is the participant's server id (PA_…).
func (p *RemoteParticipant) SID() string { return p.Info.GetSid() }

// Identity is the participant's identity from its token.
func (p *RemoteParticipant) Identity() string { return p.Info.GetIdentity() }

func snapshot(info *livekit.ParticipantInfo) *RemoteParticipant {
	return &RemoteParticipant{Info: proto.Clone(info).(*livekit.ParticipantInfo)}
}

func cloneTrack(t *livekit.TrackInfo) *livekit.TrackInfo {
	return proto.Clone(t).(*livekit.TrackInfo)
}

// participantEvents collects what one ParticipantInfo changed, to be posted after the lock is released.
type participantEvents struct {
	connected, disconnected, updated bool
	published, unpublished           []*livekit.TrackInfo
	muted, unmuted                   []*livekit.TrackInfo
	snap                             *RemoteParticipant
}

// applyParticipantLocked merges one ParticipantInfo into r.participants. An update whose version is
// not newer than the last accepted one for that participant is ignored, as livekit-client does.
// Called with r.mu held.
func (r *Room) applyParticipantLocked(info *livekit.ParticipantInfo) *participantEvents {
	old, known := r.participants[info.GetSid()]
	if info.GetState() == livekit.ParticipantInfo_DISCONNECTED {
		if !known {
			return nil
		}
		delete(r.participants, info.GetSid())
		ev := &participantEvents{disconnected: true, snap: snapshot(old)}
		ev.unpublished = append(ev.unpublished, old.GetTracks()...)
		return ev
	}
	if !known {
		r.participants[info.GetSid()] = proto.Clone(info).(*livekit.ParticipantInfo)
		ev := &participantEvents{connected: true, snap: snapshot(info)}
		ev.published = append(ev.published, info.GetTracks()...)
		return ev
	}
	if info.GetVersion() <= old.GetVersion() {
		return nil
	}
	r.participants[info.GetSid()] = proto.Clone(info).(*livekit.ParticipantInfo)
	ev := &participantEvents{updated: true, snap: snapshot(info)}
	before := make(map[string]*livekit.TrackInfo, len(old.GetTracks()))
	for _, t := range old.GetTracks() {
		before[t.GetSid()] = t
	}
	for _, t := range info.GetTracks() {
		prev, ok := before[t.GetSid()]
		delete(before, t.GetSid())
		switch {
		case !ok:
			ev.published = append(ev.published, t)
		case prev.GetMuted() != t.GetMuted() && t.GetMuted():
			ev.muted = append(ev.muted, t)
		case prev.GetMuted() != t.GetMuted():
			ev.unmuted = append(ev.unmuted, t)
		}
	}
	for _, t := range before {
		ev.unpublished = append(ev.unpublished, t)
	}
	return ev
}

// postParticipantEvents queues the callbacks for ev in a stable order.
func (r *Room) postParticipantEvents(ev *participantEvents) {
	if ev == nil {
		return
	}
	cb, p := r.opts.Callbacks, ev.snap
	if ev.connected && cb.OnParticipantConnected != nil {
		r.events.post(func() { cb.OnParticipantConnected(p) })
	}
	if ev.updated && cb.OnParticipantUpdated != nil {
		r.events.post(func() { cb.OnParticipantUpdated(p) })
	}
	for _, t := range ev.published {
		if cb.OnTrackPublished != nil {
			t := cloneTrack(t)
			r.events.post(func() { cb.OnTrackPublished(p, t) })
		}
	}
	for _, t := range ev.muted {
		if cb.OnTrackMuted != nil {
			t := cloneTrack(t)
			r.events.post(func() { cb.OnTrackMuted(p, t, true) })
		}
	}
	for _, t := range ev.unmuted {
		if cb.OnTrackMuted != nil {
			t := cloneTrack(t)
			r.events.post(func() { cb.OnTrackMuted(p, t, false) })
		}
	}
	for _, t := range ev.unpublished {
		r.dropRemoteTrack(t.GetSid())
		if cb.OnTrackUnpublished != nil {
			t := cloneTrack(t)
			r.events.post(func() { cb.OnTrackUnpublished(p, t) })
		}
	}
	if ev.disconnected && cb.OnParticipantDisconnected != nil {
		r.events.post(func() { cb.OnParticipantDisconnected(p) })
	}
}

// handleParticipantUpdate applies a ParticipantUpdate (also used for JoinResponse.other_participants).
func (r *Room) handleParticipantUpdate(infos []*livekit.ParticipantInfo) {
	var evs []*participantEvents
	var localInfo *livekit.ParticipantInfo
	r.mu.Lock()
	for _, info := range infos {
		if info.GetSid() == r.local.GetSid() {
			if info.GetVersion() > r.local.GetVersion() {
				r.local = proto.Clone(info).(*livekit.ParticipantInfo)
				localInfo = proto.Clone(info).(*livekit.ParticipantInfo)
			}
			continue
		}
		evs = append(evs, r.applyParticipantLocked(info))
	}
	r.mu.Unlock()
	if localInfo != nil && r.opts.Callbacks.OnLocalParticipantUpdated != nil {
		r.events.post(func() { r.opts.Callbacks.OnLocalParticipantUpdated(localInfo) })
	}
	for _, ev := range evs {
		r.postParticipantEvents(ev)
	}
	r.resolvePendingTracks()
}

// Participants returns snapshots of the other participants.
func (r *Room) Participants() []*RemoteParticipant {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*RemoteParticipant, 0, len(r.participants))
	for _, p := range r.participants {
		out = append(out, snapshot(p))
	}
	return out
}

// Participant returns the participant with that identity, or nil.
func (r *Room) Participant(identity string) *RemoteParticipant {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.participants {
		if p.GetIdentity() == identity {
			return snapshot(p)
		}
	}
	return nil
}

// LocalParticipant returns a copy of our own ParticipantInfo as last sent by the server.
func (r *Room) LocalParticipant() *livekit.ParticipantInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return proto.Clone(r.local).(*livekit.ParticipantInfo)
}
