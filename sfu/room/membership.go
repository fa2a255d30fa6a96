package room

import (
	"fmt"
	"time"

	"github.com/livekit/protocol/livekit"
)

// serverProtocol is the LiveKit signaling protocol version this server speaks.
const serverProtocol = 16

// Join admits a participant: it sends the JoinResponse (always the first
// message), tells the others, and subscribes it to what it may see.
func (r *Room) Join(jp JoinParams) (*Participant, error) {
	var (
		part *Participant
		err  error
	)
	if e := r.do(func() { part, err = r.joinLocked(jp) }); e != nil {
		return nil, e
	}
	return part, err
}

func (r *Room) joinLocked(jp JoinParams) (*Participant, error) {
	if old, ok := r.participants[jp.Identity]; ok {
		r.sendLeave(old, livekit.DisconnectReason_DUPLICATE_IDENTITY, livekit.LeaveRequest_DISCONNECT)
		r.removeLocked(old, "replaced by a new connection with the same identity")
	}
	if r.cfg.MaxParticipants > 0 && len(r.participants) >= r.cfg.MaxParticipants {
		return nil, fmt.Errorf("%w: room %s is full (%d participants)", ErrLimit, r.name, r.cfg.MaxParticipants)
	}
	p, err := newParticipant(r, jp)
	if err != nil {
		return nil, err
	}
	others := make([]*livekit.ParticipantInfo, 0, len(r.participants))
	for _, o := range r.sorted() {
		if !o.hidden {
			others = append(others, o.Info())
		}
	}
	r.participants[jp.Identity] = p
	r.everJoined = true
	p.mu.Lock()
	p.info.State = livekit.ParticipantInfo_JOINED
	p.mu.Unlock()
	self := p.Info()
	p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Join{Join: &livekit.JoinResponse{
		Room:              r.infoLocked(),
		Participant:       self,
		OtherParticipants: others,
		ServerVersion:     r.cfg.Version,
		ServerRegion:      r.cfg.Region,
		IceServers:        iceServers(r.cfg),
		SubscriberPrimary: true,
		PingTimeout:       15,
		PingInterval:      5,
		ServerInfo: &livekit.ServerInfo{
			Edition: livekit.ServerInfo_Standard, Version: r.cfg.Version, Protocol: serverProtocol,
			Region: r.cfg.Region, NodeId: r.cfg.NodeID,
		},
		ClientConfiguration:  &livekit.ClientConfiguration{},
		EnabledPublishCodecs: enabledCodecs(),
	}}})
	r.broadcastLocked(p)
	if p.autoSub && jp.Grants.GetCanSubscribe() {
		for _, o := range r.participants {
			if o != p {
				r.subscribeAllLocked(p, o)
			}
		}
	}
	p.sub.negotiate(false)
	r.hooks.Joined(r, p)
	p.log.Info("participant joined", "protocol", jp.ClientInfo.GetProtocol(), "sdk", jp.ClientInfo.GetSdk().String())
	return p, nil
}

func iceServers(cfg Config) []*livekit.ICEServer {
	out := make([]*livekit.ICEServer, 0, len(cfg.ICEServers))
	for _, s := range cfg.ICEServers {
		cred, _ := s.Credential.(string)
		out = append(out, &livekit.ICEServer{Urls: s.URLs, Username: s.Username, Credential: cred})
	}
	return out
}

// Resume re-attaches a participant's new signaling session after its
// WebSocket dropped; subscriptions and publications are kept.
func (r *Room) Resume(identity, sid string, sink SignalSink) (*Participant, error) {
	var p *Participant
	if err := r.do(func() {
		// A mirror (or ingest) keeps its origin's SID but has no peer
		// connections here: only a local participant can resume.
		if cur, ok := r.participants[identity]; ok && cur.sid == sid && !cur.external {
			p = cur
		}
	}); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("%w: participant %s (%s) to resume", ErrNotFound, identity, sid)
	}
	p.SetSink(sink)
	p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Reconnect{Reconnect: &livekit.ReconnectResponse{
		IceServers: iceServers(r.cfg), ClientConfiguration: &livekit.ClientConfiguration{},
		ServerInfo: &livekit.ServerInfo{Edition: livekit.ServerInfo_Standard, Version: r.cfg.Version,
			Protocol: serverProtocol, Region: r.cfg.Region, NodeId: r.cfg.NodeID},
	}}})
	// Fresh ICE for the server-offered connection; the client restarts its
	// publisher side itself.
	p.ICERestart()
	p.log.Info("participant resumed")
	return p, nil
}

// Remove takes a participant out of the room (if sid matches, when given).
func (r *Room) Remove(identity, sid, reason string) {
	r.post(func() {
		p, ok := r.participants[identity]
		if !ok || (sid != "" && p.sid != sid) {
			return
		}
		r.removeLocked(p, reason)
	})
}

// Kick removes a participant, telling its client why (RoomService).
func (r *Room) Kick(identity string) error {
	var err error
	if e := r.do(func() {
		p, ok := r.participants[identity]
		if !ok {
			err = fmt.Errorf("%w: participant %s", ErrNotFound, identity)
			return
		}
		r.sendLeave(p, livekit.DisconnectReason_PARTICIPANT_REMOVED, livekit.LeaveRequest_DISCONNECT)
		r.removeLocked(p, "removed by admin")
	}); e != nil {
		return e
	}
	return err
}

func (r *Room) removeLocked(p *Participant, reason string) {
	if r.participants[p.identity] != p {
		return
	}
	delete(r.participants, p.identity)
	r.lastLeft = time.Now()
	// Unsubscribe everyone from this participant's tracks.
	for _, t := range p.Info().Tracks {
		for _, o := range r.participants {
			o.unsubscribe(t.Sid)
		}
	}
	p.close(reason)
	r.hooks.Left(r, p)
	info := p.Info()
	info.State = livekit.ParticipantInfo_DISCONNECTED
	info.Version++
	if !p.hidden {
		for _, o := range r.participants {
			o.Send(participantUpdate(info))
		}
	}
}

func participantUpdate(infos ...*livekit.ParticipantInfo) *livekit.SignalResponse {
	return &livekit.SignalResponse{Message: &livekit.SignalResponse_Update{Update: &livekit.ParticipantUpdate{Participants: infos}}}
}

// broadcastLocked tells every other participant about p's current state.
func (r *Room) broadcastLocked(p *Participant) {
	if p.hidden {
		return
	}
	info := p.Info()
	for _, o := range r.participants {
		if o != p {
			o.Send(participantUpdate(info))
		}
	}
}

// participantChanged re-announces a participant (metadata, mute, …); the
// participant itself is told too, as LiveKit clients expect.
func (r *Room) participantChanged(p *Participant) {
	r.post(func() {
		if r.participants[p.identity] != p {
			return
		}
		info := p.Info()
		for _, o := range r.participants {
			if o == p || !p.hidden {
				o.Send(participantUpdate(info))
			}
		}
	})
}

// trackPublished makes a newly arriving track visible and subscribes those
// who subscribe automatically.
func (r *Room) trackPublished(p *Participant, t *publishedTrack) {
	r.post(func() {
		if r.participants[p.identity] != p || !p.announce(t.info.Sid) {
			return
		}
		r.broadcastLocked(p)
		p.Send(participantUpdate(p.Info()))
		r.trackAnnouncedLocked(p, t)
	})
}

// trackEnded unpublishes a track whose media stopped for good.
func (r *Room) trackEnded(p *Participant, sid string) {
	r.post(func() {
		for _, o := range r.participants {
			if o != p {
				o.unsubscribe(sid)
			}
		}
		if p.removeTrack(sid) && r.participants[p.identity] == p {
			r.broadcastLocked(p)
			p.Send(participantUpdate(p.Info()))
		}
	})
}

// Unpublish removes a participant's track on an admin's request.
func (r *Room) Unpublish(identity, sid string) {
	r.post(func() {
		p, ok := r.participants[identity]
		if !ok {
			return
		}
		p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackUnpublished{
			TrackUnpublished: &livekit.TrackUnpublishedResponse{TrackSid: sid}}})
	})
}

func (r *Room) subscribeAllLocked(sub, pub *Participant) {
	for _, t := range pub.Info().Tracks {
		if r.hooks.MaySubscribe(sub, pub, t) {
			sub.subscribe(pub, t.Sid, false)
		}
	}
}

// findTrack locates the participant publishing a track sid.
func (r *Room) findTrackLocked(sid string) (*Participant, bool) {
	for _, p := range r.participants {
		if _, _, ok := p.publishedUp(sid); ok {
			return p, true
		}
	}
	return nil, false
}

// trackAnnouncedLocked subscribes the automatic subscribers allowed to see
// a newly visible track and tells the hooks.
func (r *Room) trackAnnouncedLocked(p *Participant, t *publishedTrack) {
	var ti *livekit.TrackInfo
	for _, x := range p.Info().Tracks {
		if x.Sid == t.info.Sid {
			ti = x
		}
	}
	if ti == nil {
		return
	}
	for _, o := range r.participants {
		if o != p && o.autoSub && !o.external && o.Grants().GetCanSubscribe() && r.hooks.MaySubscribe(o, p, ti) {
			o.subscribe(p, ti.Sid, false)
		}
	}
	r.hooks.TrackPublished(r, p, ti)
}
