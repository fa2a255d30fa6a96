package room

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/utils/guid"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"
)

// JoinParams is what a verified token and the join URL say about a participant.
type JoinParams struct {
	Identity   string
	Name       string
	Metadata   string
	Attributes map[string]string
	Grants     *auth.VideoGrant
	Kind       livekit.ParticipantInfo_Kind
	// AutoSubscribe subscribes the participant to every track it may see.
	AutoSubscribe bool
	ClientInfo    *livekit.ClientInfo
	Sink          SignalSink
}

// Participant is one client in a room: its two peer connections, what it
// publishes and what it subscribes to.
type Participant struct {
	room     *Room
	sid      string
	identity string
	log      *slog.Logger
	signal   signalOut
	joinedAt time.Time
	autoSub  bool
	// optedOut holds the tracks this client unsubscribed from itself:
	// automatic subscription (Reconcile) leaves them alone until the client
	// subscribes again. Room loop only.
	optedOut map[string]bool
	hidden   bool
	// external participants (ingest) have no peer connections or client.
	external bool

	pub *publisher
	sub *subscriber
	bw  *bandwidth // nil for external participants

	// mu guards the fields below.
	mu            sync.Mutex
	info          *livekit.ParticipantInfo // tracks excluded; built on demand
	grants        *auth.VideoGrant
	tracks        map[string]*publishedTrack // by track sid
	pending       map[string]*pendingTrack   // by client track id (cid)
	subscriptions map[string]*subscription   // by track sid
	dataSeq       map[string]uint32          // last reliable sequence per sender identity
	closed        bool
	dropTimer     *time.Timer
	// lastDataRefusal rate-limits telling a client its data is refused.
	lastDataRefusal time.Time
}

func newParticipant(r *Room, p JoinParams) (*Participant, error) {
	sid := guid.New(guid.ParticipantPrefix)
	now := timeNow()
	part := &Participant{
		room:          r,
		sid:           sid,
		identity:      p.Identity,
		log:           r.log.With("participant", p.Identity, "psid", sid),
		joinedAt:      now,
		autoSub:       p.AutoSubscribe,
		hidden:        p.Grants.Hidden,
		grants:        p.Grants.Clone(),
		tracks:        make(map[string]*publishedTrack),
		pending:       make(map[string]*pendingTrack),
		subscriptions: make(map[string]*subscription),
		dataSeq:       make(map[string]uint32),
	}
	part.info = &livekit.ParticipantInfo{
		Sid:         sid,
		Identity:    p.Identity,
		Name:        p.Name,
		Metadata:    p.Metadata,
		Attributes:  p.Attributes,
		State:       livekit.ParticipantInfo_JOINING,
		JoinedAt:    now.Unix(),
		JoinedAtMs:  now.UnixMilli(),
		Version:     1,
		Permission:  p.Grants.ToPermission(),
		IsPublisher: false,
		Kind:        p.Kind,
	}
	part.signal.set(p.Sink)
	var err error
	if part.pub, err = newPublisher(part); err != nil {
		return nil, fmt.Errorf("publisher connection: %w", err)
	}
	if part.sub, err = newSubscriber(part); err != nil {
		part.pub.close()
		return nil, fmt.Errorf("subscriber connection: %w", err)
	}
	part.bw = newBandwidth(part, part.sub.est)
	part.bw.start()
	return part, nil
}

// SID is the participant's server id ("PA_…").
func (p *Participant) SID() string { return p.sid }

// Identity is the participant's identity from its token.
func (p *Participant) Identity() string { return p.identity }

// Hidden reports whether other participants can see this one.
func (p *Participant) Hidden() bool { return p.hidden }

// Room returns the participant's room.
func (p *Participant) Room() *Room { return p.room }

// Grants returns a copy of the participant's current grants.
func (p *Participant) Grants() *auth.VideoGrant {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.grants.Clone()
}

// Send queues a server message to the participant's client.
func (p *Participant) Send(msg *livekit.SignalResponse) { p.signal.send(msg) }

// Info returns a snapshot of the participant with its published tracks.
func (p *Participant) Info() *livekit.ParticipantInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.infoLocked()
}

func (p *Participant) infoLocked() *livekit.ParticipantInfo {
	pi := proto.Clone(p.info).(*livekit.ParticipantInfo)
	pi.Tracks = pi.Tracks[:0]
	for _, t := range p.tracks {
		if t.announced {
			pi.Tracks = append(pi.Tracks, proto.Clone(t.info).(*livekit.TrackInfo))
		}
	}
	pi.IsPublisher = len(pi.Tracks) > 0
	return pi
}

// touchLocked bumps the version after a change so clients accept the update.
func (p *Participant) touchLocked() {
	p.info.Version++
}

// sendError answers a refused request.
func (p *Participant) sendRequestError(reason livekit.RequestResponse_Reason, msg string, req func(*livekit.RequestResponse)) {
	rr := &livekit.RequestResponse{Reason: reason, Message: msg}
	if req != nil {
		req(rr)
	}
	p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_RequestResponse{RequestResponse: rr}})
}

// SetSink swaps the signaling session (resume after a dropped WebSocket).
func (p *Participant) SetSink(s SignalSink) {
	p.mu.Lock()
	if p.dropTimer != nil {
		p.dropTimer.Stop()
		p.dropTimer = nil
	}
	p.mu.Unlock()
	p.signal.set(s)
}

// SignalLost starts the grace period during which the client may resume.
func (p *Participant) SignalLost(s SignalSink, grace time.Duration) {
	if b := p.signal.sink.Load(); b == nil || b.s != s {
		return // already replaced by a resumed session
	}
	p.signal.set(nil)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.dropTimer != nil {
		return
	}
	p.dropTimer = time.AfterFunc(grace, func() {
		p.room.Remove(p.identity, p.sid, "signal lost and not resumed")
	})
}

// ICEServers lets the session answer with the room's ICE servers.
func (p *Participant) iceConfig() webrtc.Configuration {
	return webrtc.Configuration{ICEServers: p.room.cfg.ICEServers}
}

// close tears the participant down; called from the room actor.
func (p *Participant) close(reason string) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	if p.dropTimer != nil {
		p.dropTimer.Stop()
	}
	tracks := make([]*publishedTrack, 0, len(p.tracks))
	for _, t := range p.tracks {
		tracks = append(tracks, t)
	}
	subs := make([]*subscription, 0, len(p.subscriptions))
	for _, s := range p.subscriptions {
		subs = append(subs, s)
	}
	p.subscriptions = map[string]*subscription{}
	p.mu.Unlock()
	for _, s := range subs {
		s.close()
	}
	for _, t := range tracks {
		t.up.Close()
	}
	if !p.external {
		p.bw.stop()
		p.pub.close()
		p.sub.close()
	}
	p.signal.close()
	p.log.Info("participant closed", "reason", reason)
}

func timeNow() time.Time { return time.Now() }
