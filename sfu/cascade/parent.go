package cascade

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// PacketConn, if set, is used instead of listening on Addr.
	PacketConn net.PacketConn
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
	ownPC net.PacketConn

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
		done: make(chan struct{}), sessions: map[*parentSession]struct{}{}}
	pc := cfg.PacketConn
	if pc == nil {
		pc, err = net.ListenPacket("udp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("cascade: listen %s: %w", cfg.Addr, err)
		}
		s.ownPC = pc
	}
	s.tr = &quic.Transport{Conn: pc}
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
		ps := newParentSession(s, conn)
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

var errPeerGone = errors.New("cascade: child connection closed")

// SendStats counts media frames over all current children.
type SendStats struct {
	Sent     uint64 // handed to QUIC
	Dropped  uint64 // queue full (congestion): recoverable by NACK
	TooLarge uint64 // over the path's datagram limit
	Stale    uint64 // waited too long for the congestion window: dropped
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
	}
	return st
}
