package cascade

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/quic-go/quic-go"
)

// parentSession serves one child over one QUIC connection.
type parentSession struct {
	srv  *Server
	conn *quic.Conn
	log  *slog.Logger
	snd  *sender
	ctl  *control
	sid  uint32 // media-plane session id, set before the session is registered

	// Used by the socket's read goroutine only (media-plane NACKs).
	up      opener
	rtxBuf  [maxFrameLen]byte
	nackTbl atomic.Pointer[map[uint16]nackTarget]

	mu    sync.Mutex
	peer  string
	rooms map[string]bool
	// counters are the per-track, per-layer egress counters (stats.go).
	counters map[trackKey]*[maxLayers]atomic.Uint64

	// Owned by the control goroutine.
	tracks  map[uint16]*parentTrack
	byID    map[uint32]uint16
	nextNum uint16
}

// nackTarget is what a NACK needs of a track: an immutable snapshot the
// control goroutine publishes whenever tracks or layers change, so the
// read goroutine answers NACKs without touching the control goroutine's
// maps.
type nackTarget struct {
	sid    string
	layers [maxLayers]bool
}

type parentTrack struct {
	num    uint16
	room   string
	sid    string
	layers [maxLayers]*parentLayer
	// queued counts media packets queued per layer (shared with the
	// session's counters, which outlive the subscription).
	queued *[maxLayers]atomic.Uint64
}

type parentLayer struct {
	att     LayerAttachment
	lastPLI time.Time
}

// layerSink is the track.RTPWriter the core writes one layer into.
type layerSink struct {
	snd   *sender
	num   uint16
	layer uint8
	// queued counts packets accepted for this child on this layer (the
	// per-child egress counter: one copy per needed layer).
	queued *atomic.Uint64
}

// WriteRTP queues the packet for the child; it never blocks and never
// allocates.
func (w *layerSink) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if w.snd.writeRTP(w.num, w.layer, h, payload) {
		w.queued.Add(1)
	}
	return len(payload), nil
}

func newParentSession(s *Server, conn *quic.Conn, peer netip.AddrPort) *parentSession {
	return &parentSession{
		srv: s, conn: conn,
		log:      s.log.With("child", conn.RemoteAddr().String()),
		snd:      newSender(s.sock, peer, s.cfg.SendQueue),
		rooms:    map[string]bool{},
		counters: map[trackKey]*[maxLayers]atomic.Uint64{},
		tracks:   map[uint16]*parentTrack{},
		byID:     map[uint32]uint16{},
	}
}

func (ps *parentSession) peerID() string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.peer
}

func (ps *parentSession) joined(room string) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.rooms[room]
}

func (ps *parentSession) sendEvent(ev Event) {
	ps.mu.Lock()
	ctl := ps.ctl
	ps.mu.Unlock()
	if ctl == nil {
		return
	}
	if err := ctl.send(&message{Type: msgEvent, Event: &ev}); err != nil {
		_ = ps.conn.CloseWithError(0, "control write failed")
	}
}

func (ps *parentSession) run(srvCtx context.Context) {
	err := ps.runInner(srvCtx)
	ps.log.Info("cascade link to child closed", "peer", ps.peerID(), "reason", err)
}

func (ps *parentSession) runInner(srvCtx context.Context) error {
	ctx, cancel := context.WithCancelCause(ps.conn.Context())
	defer cancel(nil)
	stop := context.AfterFunc(srvCtx, func() { cancel(ErrClosed) })
	defer stop()
	defer func() { _ = ps.conn.CloseWithError(0, "bye") }()
	defer ps.detachAll()

	hsCtx, hsCancel := context.WithTimeout(ctx, 5*time.Second)
	st, err := ps.conn.AcceptStream(hsCtx)
	hsCancel()
	if err != nil {
		return fmt.Errorf("cascade: accept control stream: %w", err)
	}
	hello, err := readHello(st, ps.conn.ConnectionState().TLS)
	if err != nil {
		return err
	}
	peer := hello.Node
	keys, err := deriveKeys(ps.conn.ConnectionState().TLS)
	if err != nil {
		return err
	}
	ps.publishNackTable()
	// Keys and opener are in place before the id is registered: from then
	// on the read goroutine may use them.
	ps.up = opener{key: keys.up} // register sets its sid
	ps.srv.register(ps)
	defer ps.srv.unregister(ps.sid)
	ps.snd.seal = sealer{key: keys.down, sid: ps.sid}
	ctl := &control{st: st}
	if err := ctl.send(&message{Type: msgHello, Node: ps.srv.cfg.NodeID, Version: protocolVersion, Session: ps.sid}); err != nil {
		return err
	}
	ps.mu.Lock()
	ps.peer, ps.ctl = peer, ctl
	ps.mu.Unlock()
	ps.log = ps.log.With("peer", peer)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		cancel(ps.snd.run(ctx))
	}()
	err = readLoop(ctx, st, ps.handle)
	cancel(err)
	_ = ps.conn.CloseWithError(0, "bye")
	wg.Wait()
	if c := context.Cause(ctx); c != nil && c != context.Canceled {
		return c
	}
	return err
}

func (ps *parentSession) handle(m *message) error {
	switch m.Type {
	case msgSubscribe:
		ps.subscribe(m)
		ps.publishNackTable()
	case msgLayers:
		if t := ps.tracks[m.Num]; t != nil {
			ps.setLayers(t, m.Layers)
			ps.publishNackTable()
		}
	case msgUnsubscribe:
		if t := ps.tracks[m.Num]; t != nil {
			ps.unsubscribe(t)
			ps.publishNackTable()
		}
	case msgPLI:
		ps.pli(m)
	case msgJoin:
		ps.mu.Lock()
		ps.rooms[m.Room] = true
		ps.mu.Unlock()
	case msgLeave:
		ps.mu.Lock()
		delete(ps.rooms, m.Room)
		ps.mu.Unlock()
	case msgEvent:
		if m.Event != nil && ps.srv.cfg.Events != nil {
			ps.srv.cfg.Events.HandleEvent(ps.peer, *m.Event)
		}
	case msgPing:
		return ps.ctl.send(&message{Type: msgPong, T: m.T})
	case msgPong, msgHello:
	default:
		// Unknown types are ignored so newer children can talk to us.
	}
	return nil
}

func (ps *parentSession) subscribe(m *message) {
	reply := &message{Type: msgSubscribed, ID: m.ID}
	if num, ok := ps.byID[m.ID]; ok { // resent after a race: answer again
		t := ps.tracks[num]
		info, _ := ps.srv.cfg.Upstream.TrackInfo(t.room, t.sid)
		reply.Num, reply.Info = num, &info
		_ = ps.ctl.send(reply)
		return
	}
	info, err := ps.srv.cfg.Upstream.TrackInfo(m.Room, m.Track)
	if err != nil {
		reply.Error = err.Error()
		_ = ps.ctl.send(reply)
		return
	}
	num := ps.allocNum()
	t := &parentTrack{num: num, room: m.Room, sid: m.Track, queued: ps.counter(m.Room, m.Track)}
	ps.tracks[num] = t
	ps.byID[m.ID] = num
	ps.setLayers(t, m.Layers)
	reply.Num, reply.Info = num, &info
	_ = ps.ctl.send(reply)
}

// allocNum returns an unused track number; 0 is never used so a zeroed
// frame cannot hit a track.
func (ps *parentSession) allocNum() uint16 {
	for {
		ps.nextNum++
		if ps.nextNum != 0 && ps.tracks[ps.nextNum] == nil {
			return ps.nextNum
		}
	}
}

func (ps *parentSession) setLayers(t *parentTrack, layers []int) {
	var want [maxLayers]bool
	for _, l := range layers {
		if li, ok := layerIndex(l); ok {
			want[li] = true
		}
	}
	for i := range maxLayers {
		switch {
		case want[i] && t.layers[i] == nil:
			sink := &layerSink{snd: ps.snd, num: t.num, layer: uint8(i), queued: &t.queued[i]}
			att, err := ps.srv.cfg.Upstream.AttachLayer(t.room, t.sid, i, sink)
			if err != nil {
				ps.log.Warn("attach layer failed", "track", t.sid, "layer", i, "err", err)
				continue
			}
			t.layers[i] = &parentLayer{att: att, lastPLI: time.Now()}
			att.RequestKeyframe() // the child's decoders start from a keyframe
		case !want[i] && t.layers[i] != nil:
			t.layers[i].att.Close()
			t.layers[i] = nil
		}
	}
}

func (ps *parentSession) unsubscribe(t *parentTrack) {
	ps.setLayers(t, nil)
	delete(ps.tracks, t.num)
	for id, num := range ps.byID {
		if num == t.num {
			delete(ps.byID, id)
		}
	}
}

func (ps *parentSession) detachAll() {
	for _, t := range ps.tracks {
		ps.setLayers(t, nil)
	}
	clear(ps.tracks)
}

// pli merges keyframe requests per hop: at most one per KeyframeInterval
// per layer reaches the core from this child.
func (ps *parentSession) pli(m *message) {
	t := ps.tracks[m.Num]
	li, ok := layerIndex(m.Layer)
	if t == nil || !ok || t.layers[li] == nil {
		return
	}
	l := t.layers[li]
	if now := time.Now(); now.Sub(l.lastPLI) >= ps.srv.cfg.KeyframeInterval {
		l.lastPLI = now
		l.att.RequestKeyframe()
	}
}
