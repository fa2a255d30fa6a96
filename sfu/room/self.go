package room

import (
	"fmt"

	"github.com/livekit/protocol/livekit"

	"github.com/classcast/classcast/sfu/forward"
)

// UpdateOwnMetadata handles a participant changing its own name, metadata or
// attributes (needs canUpdateOwnMetadata).
func (p *Participant) UpdateOwnMetadata(req *livekit.UpdateParticipantMetadata) error {
	respond := func(reason livekit.RequestResponse_Reason, msg string) {
		p.sendRequestError(reason, msg, func(rr *livekit.RequestResponse) {
			rr.RequestId = req.RequestId
			rr.Request = &livekit.RequestResponse_UpdateMetadata{UpdateMetadata: req}
		})
	}
	p.mu.Lock()
	if !p.grants.GetCanUpdateOwnMetadata() {
		p.mu.Unlock()
		respond(livekit.RequestResponse_NOT_ALLOWED, "token does not allow updating own metadata")
		return fmt.Errorf("%w: update own metadata", ErrNotAllowed)
	}
	p.applyMetadataLocked(req.Name, req.Metadata, req.Attributes)
	p.mu.Unlock()
	respond(livekit.RequestResponse_OK, "")
	p.room.participantChanged(p)
	return nil
}

func (p *Participant) applyMetadataLocked(name, metadata string, attrs map[string]string) {
	if name != "" {
		p.info.Name = name
	}
	if metadata != "" {
		p.info.Metadata = metadata
	}
	if len(attrs) > 0 {
		if p.info.Attributes == nil {
			p.info.Attributes = map[string]string{}
		}
		for k, v := range attrs {
			if v == "" {
				delete(p.info.Attributes, k)
			} else {
				p.info.Attributes[k] = v
			}
		}
	}
	p.touchLocked()
}

// UpdateMetadata is the admin path (RoomService.UpdateParticipant).
func (p *Participant) UpdateMetadata(name, metadata string, attrs map[string]string, perm *livekit.ParticipantPermission) {
	p.mu.Lock()
	p.applyMetadataLocked(name, metadata, attrs)
	if perm != nil {
		p.grants.UpdateFromPermission(perm)
		p.info.Permission = p.grants.ToPermission()
	}
	p.mu.Unlock()
	p.room.participantChanged(p)
}

// SyncState applies what a resuming client says it had: tracks it disabled.
func (p *Participant) SyncState(st *livekit.SyncState) {
	for _, sid := range st.TrackSidsDisabled {
		if dt, ok := p.DownTrack(sid); ok {
			dt.SetPaused(forward.PauseSubscriberDisabled, true)
		}
	}
}

// AdminMute mutes a published track on an admin's request and tells its
// publisher (the client then mutes locally).
func (p *Participant) AdminMute(sid string, muted bool) (*livekit.TrackInfo, error) {
	if err := p.SetTrackMuted(sid, muted); err != nil {
		return nil, err
	}
	p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Mute{Mute: &livekit.MuteTrackRequest{Sid: sid, Muted: muted}}})
	_, info, ok := p.publishedUp(sid)
	if !ok {
		return &livekit.TrackInfo{Sid: sid, Muted: muted}, nil
	}
	return info, nil
}
