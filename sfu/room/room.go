package room

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/utils/guid"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/sfu/forward"
	"github.com/classcast/classcast/sfu/rtc"
)

// Config is shared by every room of a node.
type Config struct {
	Engine  *rtc.Engine
	Metrics *forward.Metrics
	Logger  *slog.Logger
	// ICEServers are handed to clients (STUN/TURN).
	ICEServers []webrtc.ICEServer
	// EmptyTimeout closes a room that nobody joined or everyone left. It
	// defaults to 5 minutes.
	EmptyTimeout time.Duration
	// DepartureTimeout closes a room this long after the last participant
	// left. It defaults to 20 seconds.
	DepartureTimeout time.Duration
	// ResumeGrace is how long a participant whose signaling dropped is kept
	// for a resume. It defaults to 15 seconds.
	ResumeGrace time.Duration
	// NoCongestionControl turns bandwidth estimation off: subscribers get
	// the layers they ask for whatever their link (LAN deployments, tests of
	// layer selection). Default false.
	NoCongestionControl bool
	// MaxParticipants caps a room (0: no cap).
	MaxParticipants int
	// ReconnectOnShutdown tells clients to reconnect (leave action
	// RECONNECT) rather than to give up when the server shuts down: in a
	// cluster, reconnecting through the cluster entry URL lands them on
	// another node. A single server says DISCONNECT (there is nowhere else).
	ReconnectOnShutdown bool
	// NewHooks create the rules and observers of each new room (classroom
	// rules, recorder, cascade); they are chained in order.
	NewHooks []func(r *Room) Hooks
	// NodeID and Region are reported to clients in server_info.
	NodeID  string
	Region  string
	Version string
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = forward.NewMetrics(nil)
	}
	if c.EmptyTimeout == 0 {
		c.EmptyTimeout = 5 * time.Minute
	}
	if c.DepartureTimeout == 0 {
		c.DepartureTimeout = 20 * time.Second
	}
	if c.ResumeGrace == 0 {
		c.ResumeGrace = 15 * time.Second
	}
}

// Room is an actor: its run loop owns the participant map and performs every
// change that involves more than one participant, so ordering of joins,
// publishes and leaves is the loop's order.
type Room struct {
	name      string
	sid       string
	cfg       Config
	log       *slog.Logger
	createdAt time.Time
	// mailbox is the loop's ordered queue: posts from one goroutine run in
	// the order they were made (a client's reliable data stays in order).
	mailbox  mailbox
	ctx      context.Context
	cancel   context.CancelCauseFunc
	done     chan struct{}
	onClosed func(*Room)
	// speakerRanks maps participant SIDs to their active-speaker rank (0
	// loudest), as the classroom layer reports it (SetSpeakerRanks); the
	// bandwidth allocators order camera tiles by it.
	speakerRanks atomic.Pointer[map[string]int]
	// leaveReason is what clients are told when the room closes.
	leaveReason atomic.Int32

	// Owned by the run loop.
	hooks        Hooks
	participants map[string]*Participant
	metadata     string
	// recordings counts the recordings running for this room (SetRecording):
	// clients show "REC" while it is above zero (Room.active_recording).
	recordings   int
	emptyTimeout time.Duration
	lastLeft     time.Time
	everJoined   bool
}

func newRoom(name string, cfg Config, onClosed func(*Room)) *Room {
	ctx, cancel := context.WithCancelCause(context.Background())
	sid := guid.New(guid.RoomPrefix)
	r := &Room{
		name: name, sid: sid, cfg: cfg, createdAt: time.Now(),
		log:     cfg.Logger.With("room", name, "rsid", sid),
		mailbox: newMailbox(), ctx: ctx, cancel: cancel, done: make(chan struct{}),
		onClosed: onClosed, participants: make(map[string]*Participant), emptyTimeout: cfg.EmptyTimeout,
	}
	var chain ChainHooks
	for _, f := range cfg.NewHooks {
		if h := f(r); h != nil {
			chain = append(chain, h)
		}
	}
	r.hooks = NoHooks{}
	if len(chain) > 0 {
		r.hooks = chain
	}
	go r.run()
	return r
}

// Name is the room's name.
func (r *Room) Name() string { return r.name }

// SID is the room's server id.
func (r *Room) SID() string { return r.sid }

func (r *Room) run() {
	defer close(r.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	reason := r.runInner(t.C)
	// Whatever ended the loop, cancel the context so that pending posts
	// and waiters stop waiting for a loop that is gone.
	r.cancel(fmt.Errorf("%s", reason))
	why := livekit.DisconnectReason(r.leaveReason.Load())
	if why == livekit.DisconnectReason_UNKNOWN_REASON {
		why = livekit.DisconnectReason_ROOM_CLOSED
	}
	action := livekit.LeaveRequest_DISCONNECT
	if why == livekit.DisconnectReason_SERVER_SHUTDOWN && r.cfg.ReconnectOnShutdown {
		action = livekit.LeaveRequest_RECONNECT
	}
	for _, p := range r.participants {
		r.sendLeave(p, why, action)
		p.close("room closed")
	}
	r.participants = nil
	r.hooks.Closed(r)
	r.log.Info("room closed", "reason", reason)
	if r.onClosed != nil {
		r.onClosed(r)
	}
}

func (r *Room) runInner(tick <-chan time.Time) string {
	for {
		select {
		case <-r.ctx.Done():
			return context.Cause(r.ctx).Error()
		case <-r.mailbox.wake:
			for _, op := range r.mailbox.take() {
				op()
			}
		case now := <-tick:
			if len(r.participants) > 0 {
				continue
			}
			if !r.everJoined && now.Sub(r.createdAt) > r.emptyTimeout {
				return "empty timeout"
			}
			if r.everJoined && now.Sub(r.lastLeft) > r.cfg.DepartureTimeout {
				return "departure timeout"
			}
		}
	}
}

// do runs op on the room's loop and waits for it.
func (r *Room) do(op func()) error {
	done := make(chan struct{})
	if !r.mailbox.put(func() { op(); close(done) }) {
		return ErrLimit
	}
	select {
	case <-done:
		return nil
	case <-r.done:
		return ErrRoomClosed
	}
}

// post runs op on the room's loop without waiting, after everything posted
// before it.
func (r *Room) post(op func()) {
	if r.ctx.Err() != nil {
		return
	}
	if !r.mailbox.put(op) {
		r.log.Warn("room mailbox full: operation dropped")
	}
}

// maxMailbox bounds operations waiting for the loop; a client flooding data
// packets can fill it, nothing else realistically can.
const maxMailbox = 16384

// mailbox is an ordered, bounded queue of operations for the loop.
type mailbox struct {
	mu   sync.Mutex
	ops  []func()
	wake chan struct{}
}

func newMailbox() mailbox { return mailbox{wake: make(chan struct{}, 1)} }

func (m *mailbox) put(op func()) bool {
	m.mu.Lock()
	if len(m.ops) >= maxMailbox {
		m.mu.Unlock()
		return false
	}
	m.ops = append(m.ops, op)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return true
}

func (m *mailbox) take() []func() {
	m.mu.Lock()
	defer m.mu.Unlock()
	ops := m.ops
	m.ops = nil
	return ops
}

// Close ends the room, telling every participant it was deleted.
func (r *Room) Close(reason string) {
	r.CloseWith(reason, livekit.DisconnectReason_ROOM_DELETED)
}

// CloseWith ends the room, telling every participant why.
func (r *Room) CloseWith(reason string, why livekit.DisconnectReason) {
	r.leaveReason.CompareAndSwap(0, int32(why))
	r.cancel(fmt.Errorf("%s", reason))
	<-r.done
}

// Done is closed when the room has closed.
func (r *Room) Done() <-chan struct{} { return r.done }

// Info describes the room for the RoomService API and JoinResponse.
func (r *Room) Info() *livekit.Room {
	var info *livekit.Room
	if err := r.do(func() { info = r.infoLocked() }); err != nil {
		return &livekit.Room{Sid: r.sid, Name: r.name}
	}
	return info
}

func (r *Room) infoLocked() *livekit.Room {
	n, pubs := 0, 0
	for _, p := range r.participants {
		n++
		if len(p.Info().Tracks) > 0 {
			pubs++
		}
	}
	return &livekit.Room{
		Sid: r.sid, Name: r.name, CreationTime: r.createdAt.Unix(), CreationTimeMs: r.createdAt.UnixMilli(),
		EmptyTimeout: uint32(r.emptyTimeout / time.Second), DepartureTimeout: uint32(r.cfg.DepartureTimeout / time.Second),
		Metadata: r.metadata, NumParticipants: uint32(n), NumPublishers: uint32(pubs),
		ActiveRecording: r.recordings > 0,
		EnabledCodecs:   enabledCodecs(),
	}
}

func enabledCodecs() []*livekit.Codec {
	out := make([]*livekit.Codec, 0, len(rtc.SupportedMimeTypes()))
	for _, m := range rtc.SupportedMimeTypes() {
		out = append(out, &livekit.Codec{Mime: m})
	}
	return out
}

// Participants returns snapshots of the room's participants (hidden ones included).
func (r *Room) Participants() []*livekit.ParticipantInfo {
	var out []*livekit.ParticipantInfo
	_ = r.do(func() {
		for _, p := range r.sorted() {
			out = append(out, p.Info())
		}
	})
	return out
}

// Participant finds a participant by identity.
func (r *Room) Participant(identity string) (*Participant, bool) {
	var p *Participant
	_ = r.do(func() { p = r.participants[identity] })
	return p, p != nil
}

func (r *Room) sorted() []*Participant {
	ps := make([]*Participant, 0, len(r.participants))
	for _, p := range r.participants {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].joinedAt.Before(ps[j].joinedAt) })
	return ps
}

// SetMetadata changes the room's metadata and tells everyone.
func (r *Room) SetMetadata(md string) *livekit.Room {
	var info *livekit.Room
	_ = r.do(func() {
		r.metadata = md
		info = r.broadcastRoomUpdateLocked()
	})
	return info
}

// broadcastRoomUpdateLocked tells every participant the room's info and
// returns it. Room loop only.
func (r *Room) broadcastRoomUpdateLocked() *livekit.Room {
	info := r.infoLocked()
	for _, p := range r.participants {
		p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_RoomUpdate{RoomUpdate: &livekit.RoomUpdate{Room: info}}})
	}
	return info
}

// SetSpeakerRanks records the active speakers, loudest first (participant
// SIDs). Subscribers short of bandwidth keep the speakers' cameras before
// other tiles of the same class.
func (r *Room) SetSpeakerRanks(sids []string) {
	m := make(map[string]int, len(sids))
	for i, sid := range sids {
		m[sid] = i
	}
	r.speakerRanks.Store(&m)
}

// speakerRank is sid's active-speaker rank, or notSpeaking.
func (r *Room) speakerRank(sid string) int {
	if m := r.speakerRanks.Load(); m != nil {
		if rank, ok := (*m)[sid]; ok {
			return rank
		}
	}
	return notSpeaking
}

// notSpeaking ranks everyone who is not an active speaker after those who are.
const notSpeaking = 1 << 20

// SetRecording counts a recording of the room starting (on) or ending; when
// the room goes from not recorded to recorded or back, every participant gets
// a RoomUpdate, which LiveKit clients show as room.isRecording.
func (r *Room) SetRecording(on bool) {
	_ = r.do(func() {
		was := r.recordings > 0
		if on {
			r.recordings++
		} else if r.recordings > 0 {
			r.recordings--
		}
		if was != (r.recordings > 0) {
			r.broadcastRoomUpdateLocked()
		}
	})
}

func (r *Room) sendLeave(p *Participant, reason livekit.DisconnectReason, action livekit.LeaveRequest_Action) {
	p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{Leave: &livekit.LeaveRequest{
		Reason: reason, Action: action, CanReconnect: action != livekit.LeaveRequest_DISCONNECT,
	}}})
}
