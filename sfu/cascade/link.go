package cascade

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/classcast/classcast/sfu/track"
	"github.com/quic-go/quic-go"
)

// LinkConfig configures the child (edge) end of a cascade link.
type LinkConfig struct {
	// NodeID is this node's id (the certificate CN).
	NodeID string
	// ParentAddr is the parent's cascade UDP address (host:port).
	ParentAddr string
	Auth       Auth
	// Events receives the parent's room events and data packets. Optional.
	Events EventHandler
	// MinBackoff and MaxBackoff bound reconnect waits. They default to
	// 100ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// KeyframeInterval is the minimum time between keyframe requests sent
	// upstream per layer. It defaults to 500ms.
	KeyframeInterval time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Link is the child end of the QUIC connection to one parent. It
// reconnects with backoff when the connection drops and then re-subscribes
// everything, so the core's producers see a freeze, never a close.
type Link struct {
	cfg LinkConfig
	log *slog.Logger
	mat *authMaterial

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	cur    atomic.Pointer[childConn]
	plane  planeCounters
	gen    atomic.Uint64 // connections made so far
	rtt    atomic.Int64
	nextID atomic.Uint32

	mu    sync.Mutex
	subs  map[uint32]*Subscription
	rooms map[string]bool
}

// childConn is one connected period of the link: its own socket, QUIC
// transport and connection, and the media plane's state for them.
type childConn struct {
	conn   *quic.Conn
	ctl    *control
	parent string
	// table maps track numbers to subscriptions for the media path,
	// copy-on-write so lookups take no lock.
	table atomic.Pointer[[]*Subscription]

	udp  *net.UDPConn
	peer netip.AddrPort // the parent, as dialled
	// down is set once the parent's hello gave the session id; until then
	// media-plane packets are rejected. It and rcv are used by the socket's
	// read goroutine only.
	down  atomic.Pointer[opener]
	rcv   receiver
	plane *planeCounters // the Link's, shared across connections

	// Used by the NACK ticker only.
	up      sealer
	nackBuf [maxPlanePacket]byte
}

// Dial starts the link; it connects in the background and keeps retrying.
func Dial(cfg LinkConfig) (*Link, error) {
	if cfg.NodeID == "" || cfg.ParentAddr == "" {
		return nil, fmt.Errorf("%w: NodeID and ParentAddr are required", errInvalidConfig)
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.KeyframeInterval <= 0 {
		cfg.KeyframeInterval = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	mat, err := cfg.Auth.material(cfg.NodeID)
	if err != nil {
		return nil, err
	}
	l := &Link{
		cfg: cfg, mat: mat, done: make(chan struct{}),
		log:  cfg.Logger.With("component", "cascade-link", "node", cfg.NodeID, "parent", cfg.ParentAddr),
		subs: map[uint32]*Subscription{}, rooms: map[string]bool{},
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	go l.run()
	return l, nil
}

// Close ends the link and waits. Producers are not closed: the core owns
// them.
func (l *Link) Close() {
	l.cancel()
	<-l.done
}

// Connected reports whether the link is up right now.
func (l *Link) Connected() bool { return l.cur.Load() != nil }

// RTT is the last measured control-stream round trip time.
func (l *Link) RTT() time.Duration { return time.Duration(l.rtt.Load()) }

func (l *Link) run() {
	defer close(l.done)
	reason := l.runInner()
	l.log.Info("cascade link closed", "reason", reason)
}

func (l *Link) runInner() error {
	backoff := l.cfg.MinBackoff
	for {
		start := time.Now()
		err := l.connectOnce()
		if l.ctx.Err() != nil {
			return ErrClosed
		}
		if time.Since(start) > 10*time.Second {
			backoff = l.cfg.MinBackoff // it had been up a while: retry fast
		}
		l.log.Warn("cascade link down, reconnecting", "err", err, "in", backoff)
		wait := backoff/2 + rand.N(backoff/2+1) // jitter: children of a dead parent do not stampede
		select {
		case <-l.ctx.Done():
			return ErrClosed
		case <-time.After(wait):
		}
		backoff = min(backoff*2, l.cfg.MaxBackoff)
	}
}

// connectOnce dials, handshakes, re-subscribes and serves until the
// connection ends. Each connection gets a fresh socket and transport
// (plane.go), closed when it ends.
func (l *Link) connectOnce() error {
	raddr, err := net.ResolveUDPAddr("udp", l.cfg.ParentAddr)
	if err != nil {
		return fmt.Errorf("cascade: resolve parent: %w", err)
	}
	peer, err := peerAddrPort(raddr)
	if err != nil {
		return err
	}
	udp, err := listenToward(raddr)
	if err != nil {
		return err
	}
	cc := &childConn{udp: udp, peer: peer, plane: &l.plane}
	empty := []*Subscription{}
	cc.table.Store(&empty)
	tr := &quic.Transport{Conn: newPlaneConn(udp, cc)}
	defer func() {
		_ = tr.Close()
		_ = udp.Close()
	}()

	dialCtx, cancel := context.WithTimeout(l.ctx, 5*time.Second)
	conn, err := tr.Dial(dialCtx, raddr, l.mat.clientTLS(), quicConfig())
	if err != nil {
		cancel()
		return fmt.Errorf("cascade: dial: %w", err)
	}
	defer func() { _ = conn.CloseWithError(0, "bye") }()
	st, err := conn.OpenStreamSync(dialCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("cascade: open control stream: %w", err)
	}
	cc.conn, cc.ctl = conn, &control{st: st}
	if err := cc.ctl.send(&message{Type: msgHello, Node: l.cfg.NodeID, Version: protocolVersion}); err != nil {
		return err
	}
	hello, err := readHello(st, conn.ConnectionState().TLS)
	if err != nil {
		return err
	}
	keys, err := deriveKeys(conn.ConnectionState().TLS)
	if err != nil {
		return err
	}
	cc.parent = hello.Node
	cc.up = sealer{key: keys.up, sid: hello.Session}
	cc.down.Store(&opener{key: keys.down, sid: hello.Session})
	return l.serve(cc)
}

func (l *Link) serve(cc *childConn) error {
	ctx, cancel := context.WithCancelCause(cc.conn.Context())
	defer cancel(nil)
	stop := context.AfterFunc(l.ctx, func() { cancel(ErrClosed) })
	defer stop()

	l.cur.Store(cc)
	l.gen.Add(1)
	defer l.cur.Store(nil)
	l.log.Info("cascade link up", "parent_node", cc.parent)
	if err := l.resubscribe(cc); err != nil {
		return err
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		cancel(readLoop(ctx, cc.ctl.st, func(m *message) error { return l.handle(cc, m) }))
	}()
	l.tick(ctx, cc)
	_ = cc.conn.CloseWithError(0, "bye")
	wg.Wait()
	return context.Cause(ctx)
}

// resubscribe replays joins and subscriptions on a new connection. Loss
// trackers restart: a gap across a reconnect is not worth NACKing, the
// parent sends a keyframe instead.
func (l *Link) resubscribe(cc *childConn) error {
	l.mu.Lock()
	rooms := make([]string, 0, len(l.rooms))
	for r := range l.rooms {
		rooms = append(rooms, r)
	}
	subs := make([]*Subscription, 0, len(l.subs))
	for _, s := range l.subs {
		subs = append(subs, s)
	}
	l.mu.Unlock()
	for _, r := range rooms {
		if err := cc.ctl.send(&message{Type: msgJoin, Room: r}); err != nil {
			return err
		}
	}
	for _, s := range subs {
		s.resetTrackers()
		if err := cc.ctl.send(s.subscribeMessage()); err != nil {
			return err
		}
	}
	return nil
}

func (l *Link) handle(cc *childConn, m *message) error {
	switch m.Type {
	case msgSubscribed:
		l.mu.Lock()
		s := l.subs[m.ID]
		l.mu.Unlock()
		if s == nil {
			if m.Error == "" { // closed meanwhile
				return cc.ctl.send(&message{Type: msgUnsubscribe, Num: m.Num})
			}
			return nil
		}
		if m.Error != "" {
			s.fail(fmt.Errorf("%w: %s", ErrSubscribe, m.Error))
			return nil
		}
		s.bind(m.Num, m.Info)
		cc.setTable(m.Num, s)
	case msgEvent:
		if m.Event != nil && l.cfg.Events != nil {
			l.cfg.Events.HandleEvent(cc.parent, *m.Event)
		}
	case msgPing:
		return cc.ctl.send(&message{Type: msgPong, T: m.T})
	case msgPong:
		if m.T > 0 {
			l.rtt.Store(time.Now().UnixNano() - m.T)
		}
	}
	return nil
}

func (cc *childConn) setTable(num uint16, s *Subscription) {
	old := *cc.table.Load()
	n := max(len(old), int(num)+1)
	tbl := make([]*Subscription, n)
	copy(tbl, old)
	tbl[num] = s
	cc.table.Store(&tbl)
}

// tick runs the NACK scan (every 20ms) and the RTT ping (every 500ms).
func (l *Link) tick(ctx context.Context, cc *childConn) {
	nackT := time.NewTicker(nackMinRetry)
	defer nackT.Stop()
	pingT := time.NewTicker(500 * time.Millisecond)
	defer pingT.Stop()
	seqs := make([]uint16, 0, nackWindow)
	for {
		select {
		case <-ctx.Done():
			return
		case <-pingT.C:
			_ = cc.ctl.send(&message{Type: msgPing, T: time.Now().UnixNano()})
		case now := <-nackT.C:
			rtt := cc.retryRTT(l.RTT())
			for num, s := range *cc.table.Load() {
				if s == nil {
					continue
				}
				for layer := range maxLayers {
					seqs = s.trackers[layer].scan(now.UnixNano(), rtt, seqs[:0])
					cc.sendNacks(uint16(num), uint8(layer), seqs)
				}
			}
		}
	}
}

// JoinRoom asks the parent for the room's events. Remembered across
// reconnects.
func (l *Link) JoinRoom(room string) {
	l.mu.Lock()
	l.rooms[room] = true
	l.mu.Unlock()
	if cc := l.cur.Load(); cc != nil {
		_ = cc.ctl.send(&message{Type: msgJoin, Room: room})
	}
}

// SendEvent sends an event or data packet to the parent. Events are not
// queued while the link is down: it returns ErrNotConnected.
func (l *Link) SendEvent(ev Event) error {
	cc := l.cur.Load()
	if cc == nil {
		return ErrNotConnected
	}
	return cc.ctl.send(&message{Type: msgEvent, Event: &ev})
}

// Subscribe asks the parent for the given layers of a track and writes
// them into p. It returns at once; media starts when the parent answers
// (Subscription.Ready). The subscription survives reconnects. p's
// OnKeyframeRequest is wired to send rate-limited PLIs upstream.
func (l *Link) Subscribe(room, trackSID string, layers []int, p track.Producer) (*Subscription, error) {
	if l.ctx.Err() != nil {
		return nil, ErrClosed
	}
	s := &Subscription{link: l, id: l.nextID.Add(1), room: room, trackSID: trackSID,
		producer: p, layers: append([]int(nil), layers...), ready: make(chan struct{})}
	p.OnKeyframeRequest(s.requestKeyframe)
	l.mu.Lock()
	l.subs[s.id] = s
	l.mu.Unlock()
	if cc := l.cur.Load(); cc != nil {
		_ = cc.ctl.send(s.subscribeMessage())
	}
	return s, nil
}

func (l *Link) forget(s *Subscription) {
	l.mu.Lock()
	delete(l.subs, s.id)
	l.mu.Unlock()
}
