// Package client is classcast's Go client for the LiveKit signaling protocol (v0 path: /rtc WebSocket,
// one subscriber and one publisher peer connection). It behaves like livekit-client on the wire and
// serves as the server's integration-test driver, the load tester's engine and an SDK for bots.
package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/signalling"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"
)

// Room is one participant's session in a room. Its control plane is an actor: run() owns the signal
// connection's lifecycle (pings, drops, resume, rejoin, leave); state shared with the public methods
// is guarded by mu.
type Room struct {
	opts Options
	log  *slog.Logger
	url  string
	api  *API

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the room starts
	done   chan struct{}
	events *dispatcher

	closeOnce   sync.Once
	closeReason error

	// drops carries reasons to abandon the current signal connection (SimulateDrop, subscriber ICE
	// failure); buffered so producers never block.
	drops chan error

	// sigMu guards sig; sends happen without it held on a copy of the pointer.
	sigMu sync.Mutex
	sig   *signalConn

	lastPong atomic.Int64 // unix ms of the last pong
	rttMs    atomic.Int64

	// mu guards everything below.
	mu           sync.Mutex
	token        string
	join         *livekit.JoinResponse
	local        *livekit.ParticipantInfo
	participants map[string]*livekit.ParticipantInfo // by sid
	pub, sub     *transport
	pubDC        dataChannels
	subDC        dataChannels
	midToTrackID map[string]string
	remoteTracks map[string]*RemoteTrack // by track sid
	pendingSubs  []*RemoteTrack          // media arrived before the participant was known
	localTracks  map[string]*LocalTrack  // by cid
	pendingPub   map[string]chan *livekit.TrackInfo
	unsubscribed map[string]bool // track sids the user unsubscribed (auto-subscribe on)
	subscribed   map[string]bool // track sids the user subscribed (auto-subscribe off)
	disabled     map[string]bool // track sids with TrackSettings.Disabled
	dataSeq      uint32
}

// Connect joins a room: it dials {url}/rtc, waits for the JoinResponse, builds both peer connections
// and returns once joined (media and data connect in the background; PublishTrack and SendData wait
// for them). url may be http(s):// or ws(s)://.
func Connect(ctx context.Context, url, token string, opts ...Option) (*Room, error) {
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	o.fillDefaults()
	api := o.API
	if api == nil {
		var err error
		if api, err = NewAPI(APIConfig{}); err != nil {
			return nil, err
		}
	}
	r := &Room{
		opts: o, log: o.Logger, url: url, api: api, token: token,
		done:   make(chan struct{}),
		drops:  make(chan error, 4),
		events: newDispatcher(),
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.resetStateLocked()

	sig, join, err := r.dialJoin(ctx, false)
	if err != nil {
		r.cancel()
		r.events.close(true)
		return nil, err
	}
	if err := r.startSession(sig, join); err != nil {
		sig.closeNow()
		r.closeTransports()
		r.cancel()
		r.events.close(true)
		return nil, err
	}
	r.wg.Add(1)
	go r.run(sig)
	return r, nil
}

func (r *Room) resetStateLocked() {
	r.participants = map[string]*livekit.ParticipantInfo{}
	r.remoteTracks = map[string]*RemoteTrack{}
	r.pendingSubs = nil
	r.midToTrackID = map[string]string{}
	if r.localTracks == nil {
		r.localTracks = map[string]*LocalTrack{}
		r.unsubscribed = map[string]bool{}
		r.subscribed = map[string]bool{}
		r.disabled = map[string]bool{}
	}
	r.pendingPub = map[string]chan *livekit.TrackInfo{}
}

// dialJoin dials /rtc and waits for the first message: JoinResponse, or ReconnectResponse on resume.
func (r *Room) dialJoin(ctx context.Context, resume bool) (*signalConn, *livekit.SignalResponse, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.opts.JoinTimeout)
		defer cancel()
	}
	r.mu.Lock()
	p := joinParams{
		token: r.token, autoSubscribe: *r.opts.AutoSubscribe, protocol: r.opts.Protocol,
		extra: r.opts.ExtraQuery,
	}
	if resume {
		p.reconnect, p.sid, p.reason = true, r.local.GetSid(), livekit.ReconnectReason_RR_SIGNAL_DISCONNECTED
	}
	r.mu.Unlock()
	u, err := rtcURL(r.url, p)
	if err != nil {
		return nil, nil, err
	}
	sig, err := dialSignal(ctx, r.opts.HTTPClient, u, r.opts.JSON)
	if err != nil {
		return nil, nil, err
	}
	res, err := sig.read(ctx)
	if err != nil {
		sig.closeNow()
		return nil, nil, fmt.Errorf("%w: %w", ErrNoJoinResponse, err)
	}
	ok := res.GetJoin() != nil
	if resume {
		ok = res.GetReconnect() != nil
	}
	if !ok {
		sig.closeNow()
		if l := res.GetLeave(); l != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrNoJoinResponse,
				&LeaveError{Reason: l.GetReason(), Action: l.GetAction()})
		}
		return nil, nil, fmt.Errorf("%w: got %T", ErrNoJoinResponse, res.GetMessage())
	}
	r.tap(res)
	return sig, res, nil
}

// startSession builds the peer connections for a fresh JoinResponse and installs sig.
func (r *Room) startSession(sig *signalConn, res *livekit.SignalResponse) error {
	join := res.GetJoin()
	ice := signalling.FromProtoIceServers(join.GetIceServers())
	sub, err := newTransport(r.api, ice, livekit.SignalTarget_SUBSCRIBER, r.log.With("pc", "subscriber"), r.sendSignal)
	if err != nil {
		return err
	}
	pub, err := newTransport(r.api, ice, livekit.SignalTarget_PUBLISHER, r.log.With("pc", "publisher"), r.sendSignal)
	if err != nil {
		_ = sub.close()
		return err
	}
	r.mu.Lock()
	r.join = join
	r.local = proto.Clone(join.GetParticipant()).(*livekit.ParticipantInfo)
	r.sub, r.pub = sub, pub
	r.mu.Unlock()
	r.setSignal(sig)
	r.lastPong.Store(time.Now().UnixMilli())

	if err := r.setupPublisher(pub); err != nil {
		return err
	}
	r.setupSubscriber(sub)
	r.handleParticipantUpdate(join.GetOtherParticipants())
	if cb := r.opts.Callbacks.OnRoomUpdate; cb != nil && join.GetRoom() != nil {
		room := proto.Clone(join.GetRoom()).(*livekit.Room)
		r.events.post(func() { cb(room) })
	}
	r.log.Info("joined", "room", join.GetRoom().GetName(), "sid", join.GetParticipant().GetSid(),
		"identity", join.GetParticipant().GetIdentity(), "subscriberPrimary", join.GetSubscriberPrimary(),
		"server", join.GetServerInfo().GetVersion())
	// livekit-client negotiates the publisher at once only when it is the primary PC or with fast
	// publish; otherwise on the first publish or data send.
	if !join.GetSubscriberPrimary() || join.GetFastPublish() {
		if err := pub.negotiate(false); err != nil {
			return err
		}
	}
	return nil
}

func (r *Room) setSignal(sig *signalConn) {
	r.sigMu.Lock()
	r.sig = sig
	r.sigMu.Unlock()
}

func (r *Room) currentSignal() *signalConn {
	r.sigMu.Lock()
	defer r.sigMu.Unlock()
	return r.sig
}

// sendSignal writes one request on the current signal connection.
func (r *Room) sendSignal(req *livekit.SignalRequest) error {
	sig := r.currentSignal()
	if sig == nil {
		return ErrClosed
	}
	return sig.send(r.ctx, req)
}

func (r *Room) tap(res *livekit.SignalResponse) {
	if cb := r.opts.Callbacks.OnSignal; cb != nil {
		c := proto.Clone(res).(*livekit.SignalResponse)
		r.events.post(func() { cb(c) })
	}
}

// JoinResponse returns a copy of the latest JoinResponse.
func (r *Room) JoinResponse() *livekit.JoinResponse {
	r.mu.Lock()
	defer r.mu.Unlock()
	return proto.Clone(r.join).(*livekit.JoinResponse)
}

// RTT is the signal round-trip time measured by the last ping.
func (r *Room) RTT() time.Duration { return time.Duration(r.rttMs.Load()) * time.Millisecond }

// Done is closed when the room has ended and every goroutine it started has returned.
func (r *Room) Done() <-chan struct{} { return r.done }

// Err is why the room ended (nil after Close); valid once Done is closed.
func (r *Room) Err() error {
	<-r.done
	return r.closeReason
}

// SimulateDrop closes the signal WebSocket abruptly (no close frame, no leave), as a network failure
// would; the room then resumes with reconnect=1.
func (r *Room) SimulateDrop() {
	select {
	case r.drops <- ErrSimulatedDrop:
	default:
	}
}

// Close sends a LeaveRequest, closes the signal connection and both peer connections, and waits for
// every goroutine the room started (including the event goroutine, after it ran OnDisconnected).
// Calling it again is harmless. Do not call it from a callback (it would wait for itself): use
// `go room.Close()` there.
func (r *Room) Close() error {
	r.closeOnce.Do(func() {
		if sig := r.currentSignal(); sig != nil {
			_ = sig.send(r.ctx, &livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{
				Leave: &livekit.LeaveRequest{
					Reason: livekit.DisconnectReason_CLIENT_INITIATED,
					Action: livekit.LeaveRequest_DISCONNECT,
				},
			}})
		}
		r.cancel()
	})
	<-r.done
	return nil
}

func (r *Room) closeTransports() {
	r.mu.Lock()
	pub, sub := r.pub, r.sub
	r.pub, r.sub = nil, nil
	r.mu.Unlock()
	for _, t := range []*transport{sub, pub} {
		if t != nil {
			if err := t.close(); err != nil {
				r.log.Debug("peer connection close", "err", err)
			}
		}
	}
}

// transports returns the current peer connections (nil after close).
func (r *Room) transports() (pub, sub *transport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pub, r.sub
}

var errLeaveResume = errors.New("server asked to resume")

// errLeaveReconnect asks run() for a full rejoin.
var errLeaveReconnect = errors.New("server asked to reconnect")

// ensureOpen returns ErrClosed once the room is closing.
func (r *Room) ensureOpen() error {
	if r.ctx.Err() != nil {
		return ErrClosed
	}
	return nil
}

// iceConnected reports whether pc is usable for media/data.
func iceConnected(pc *webrtc.PeerConnection) bool {
	s := pc.ICEConnectionState()
	return s == webrtc.ICEConnectionStateConnected || s == webrtc.ICEConnectionStateCompleted
}
