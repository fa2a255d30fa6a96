package room

import (
	"errors"

	"github.com/livekit/protocol/livekit"

	"github.com/classcast/classcast/sfu/forward"
)

// This file is the small additive API the classroom layer (hooks) needs:
// loop-safe variants of admin actions and read access to audio levels.

// UpTrack returns the forwarding track of one of the participant's visible
// published tracks (audio levels, layer activity).
func (p *Participant) UpTrack(sid string) (*forward.UpTrack, bool) {
	up, _, ok := p.publishedUp(sid)
	return up, ok
}

// OnDataReady calls f (on a pion goroutine) once the server→client reliable
// data channel is open, at once if it already is: data sent before that is
// lost. One handler per participant; the classroom layer uses it to send a
// joiner its initial state.
func (p *Participant) OnDataReady(f func()) {
	if p.external || p.sub == nil || p.sub.reliable == nil {
		return
	}
	p.sub.onDataOpen(f)
}

// MetadataOnLoop is the room metadata; call only on the room loop (hooks).
func (r *Room) MetadataOnLoop() string { return r.metadata }

// KickOnLoop removes a participant, telling its client why; call only on
// the room loop.
func (r *Room) KickOnLoop(p *Participant, why string) {
	if r.participants[p.identity] != p {
		return
	}
	r.sendLeave(p, livekit.DisconnectReason_PARTICIPANT_REMOVED, livekit.LeaveRequest_DISCONNECT)
	r.removeLocked(p, why)
}

// UnpublishOnLoop stops forwarding a published track (everyone is
// unsubscribed, the track is forgotten) and tells its publisher with
// track_unpublished; call only on the room loop.
func (r *Room) UnpublishOnLoop(p *Participant, sid string) {
	for _, o := range r.participants {
		if o != p {
			o.unsubscribe(sid)
		}
	}
	if p.removeTrack(sid) && r.participants[p.identity] == p {
		r.broadcastLocked(p)
	}
	p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackUnpublished{
		TrackUnpublished: &livekit.TrackUnpublishedResponse{TrackSid: sid}}})
}

// CloseAsync ends the room without waiting (callable on the room loop):
// every participant gets a leave (ROOM_DELETED) as with Close.
func (r *Room) CloseAsync(reason string) { r.cancel(errors.New(reason)) }
