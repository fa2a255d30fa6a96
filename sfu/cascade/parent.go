package cascade

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
)

// ServerConfig configures the parent (origin or mid-tier) end of cascade
// links.
type ServerConfig struct {
	// NodeID is this node's id; with ClusterSecret it goes in the
	// certificate, with a CA it must match the certificate's CN.
	NodeID string
	// Addr is the UDP address to listen on, e.g. "127.0.0.1:0".
	Addr string
	// PacketConn, if set, is used instead of listening on Addr. It must be
	// a UDP socket: the media plane shares it with QUIC (plane.go).
	PacketConn *net.UDPConn
	Auth       Auth
	// Upstream resolves subscriptions. Required.
	Upstream Upstream
	// Packets answers NACKs. Optional: without it NACKs are ignored.
	Packets PacketSource
	// Events receives events and data packets children send. Optional.
	Events EventHandler
	// SendQueue is the media queue per child, in packets. It defaults to 512.
	SendQueue int
	// KeyframeInterval is the minimum time between keyframe requests
	// forwarded per layer per child. It defaults to 500ms.
	KeyframeInterval time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Server accepts cascade links from children.
type Server struct {
	cfg   ServerConfig
	log   *slog.Logger
	tr    *quic.Transport
	ln    *quic.Listener
	sock  *net.UDPConn // shared by QUIC and the media plane
	ownPC *net.UDPConn
	plane planeCounters

	// pmu guards bySID, the media plane's session lookup (read per NACK
	// packet on the socket's read goroutine).
	pmu   sync.RWMutex
	bySID map[uint32]*parentSession

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	sessions map[*parentSession]struct{}
	wg       sync.WaitGroup
}

// Listen starts a cascade server.
func Listen(cfg ServerConfig) (*Server, error) {
	if cfg.NodeID == "" || cfg.Upstream == nil {
		return nil, fmt.Errorf("%w: NodeID and Upstream are required", errInvalidConfig)
	}
	if cfg.SendQueue <= 0 {
		cfg.SendQueue = 512
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
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "cascade-server", "node", cfg.NodeID),
		done: make(chan struct{}), sessions: map[*parentSession]struct{}{}, bySID: map[uint32]*parentSession{}}
	udp := cfg.PacketConn
	if udp == nil {
		ua, err := net.ResolveUDPAddr("udp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("cascade: listen %s: %w", cfg.Addr, err)
		}
		if udp, err = net.ListenUDP("udp", ua); err != nil {
			return nil, fmt.Errorf("cascade: listen %s: %w", cfg.Addr, err)
		}
		s.ownPC = udp
	}
	s.sock = udp
	s.tr = &quic.Transport{Conn: newPlaneConn(udp, s)}
	s.ln, err = s.tr.Listen(mat.serverTLS(), quicConfig())
	if err != nil {
		s.closeTransport()
		return nil, fmt.Errorf("cascade: listen: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.run()
	return s, nil
}

// Addr is the bound UDP address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting, closes every link and waits.
func (s *Server) Close() {
	s.cancel()
	_ = s.ln.Close()
	<-s.done
}

func (s *Server) closeTransport() {
	_ = s.tr.Close()
	if s.ownPC != nil {
		_ = s.ownPC.Close()
	}
}

func (s *Server) run() {
	defer close(s.done)
	err := s.acceptLoop()
	s.cancel()
	s.wg.Wait()
	s.closeTransport()
	s.log.Info("cascade server closed", "reason", err)
}

func (s *Server) acceptLoop() error {
	for {
		conn, err := s.ln.Accept(s.ctx)
		if err != nil {
			if s.ctx.Err() != nil {
				return ErrClosed
			}
			return err
		}
		peer, err := peerAddrPort(conn.RemoteAddr())
		if err != nil {
			_ = conn.CloseWithError(0, "bad address")
			continue
		}
		ps := newParentSession(s, conn, peer)
		s.mu.Lock()
		s.sessions[ps] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			ps.run(s.ctx)
			s.mu.Lock()
			delete(s.sessions, ps)
			s.mu.Unlock()
		}()
	}
}

// Broadcast sends ev to every child that joined ev.Room. It never blocks
// on a slow child for longer than the control write deadline.
func (s *Server) Broadcast(ev Event) {
	s.mu.Lock()
	targets := make([]*parentSession, 0, len(s.sessions))
	for ps := range s.sessions {
		if ps.joined(ev.Room) {
			targets = append(targets, ps)
		}
	}
	s.mu.Unlock()
	for _, ps := range targets {
		ps.sendEvent(ev)
	}
}

// Children lists the node ids of connected children.
func (s *Server) Children() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{}
	for ps := range s.sessions {
		if id := ps.peerID(); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// SendStats counts media frames over all current children.
type SendStats struct {
	Sent     uint64 // written to the socket
	Dropped  uint64 // send ring full: recoverable by NACK
	TooLarge uint64 // over the packet size limit or the path MTU
	Stale    uint64 // waited too long in the ring (sender starved): dropped
	Failed   uint64 // other socket write errors: recoverable by NACK
}

// Stats sums the send counters of connected children.
func (s *Server) Stats() SendStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st SendStats
	for ps := range s.sessions {
		st.Sent += ps.snd.sent.Load()
		st.Dropped += ps.snd.dropped.Load()
		st.TooLarge += ps.snd.tooLarge.Load()
		st.Stale += ps.snd.stale.Load()
		st.Failed += ps.snd.failed.Load()
	}
	return st
}

// PlaneStats counts the media-plane packets (NACKs) children sent.
func (s *Server) PlaneStats() PlaneStats { return s.plane.snapshot() }

// handlePlane takes a media-plane packet from the socket (plane.go): find
// the session by id, then let it authenticate and act on the packet.
func (s *Server) handlePlane(b []byte) {
	sid, ok := planeSession(b)
	var ps *parentSession
	if ok {
		s.pmu.RLock()
		ps = s.bySID[sid]
		s.pmu.RUnlock()
	}
	if ps == nil {
		s.plane.count(openBad)
		return
	}
	s.plane.count(ps.handlePlane(b))
}

// register gives ps a session id no other connected child has and makes
// it findable by the read goroutine; the id is written under the lock, so
// readers see it. 0 is never used, so a zeroed header finds no session.
func (s *Server) register(ps *parentSession) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	for {
		sid := rand.Uint32()
		if _, taken := s.bySID[sid]; sid != 0 && !taken {
			ps.sid, ps.up.sid = sid, sid
			s.bySID[sid] = ps
			return
		}
	}
}

func (s *Server) unregister(sid uint32) {
	s.pmu.Lock()
	delete(s.bySID, sid)
	s.pmu.Unlock()
}
