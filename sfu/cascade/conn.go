package cascade

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
)

// maxLayers bounds simulcast layers per track on the link.
const maxLayers = 4

// quicConfig is shared by both ends. QUIC carries only the control stream
// (media is on the media plane, plane.go); the idle timeout doubles as the
// dead-peer detector that triggers a reconnect.
func quicConfig() *quic.Config {
	return &quic.Config{
		MaxIdleTimeout:       5 * time.Second,
		KeepAlivePeriod:      time.Second,
		HandshakeIdleTimeout: 5 * time.Second,
	}
}

// control is one end's writer on the control stream; writes come from
// several goroutines (run loop, NACK ticker, the core's calls).
type control struct {
	mu sync.Mutex
	st *quic.Stream
}

func (c *control) send(m *message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.st.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return writeMessage(c.st, m)
}

// readHello reads the first message, which must be a hello from the node
// the TLS certificate names.
func readHello(st *quic.Stream, cs tls.ConnectionState) (*message, error) {
	_ = st.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer func() { _ = st.SetReadDeadline(time.Time{}) }()
	m, err := readMessage(st)
	if err != nil {
		return nil, fmt.Errorf("cascade: read hello: %w", err)
	}
	if m.Type != msgHello || m.Version != protocolVersion {
		return nil, fmt.Errorf("%w: first message %q version %d", ErrProtocol, m.Type, m.Version)
	}
	if cn := peerNodeID(cs); m.Node != cn {
		return nil, fmt.Errorf("%w: hello says %q, certificate says %q", ErrAuth, m.Node, cn)
	}
	return m, nil
}

// readLoop feeds control messages to handle until the stream fails.
func readLoop(ctx context.Context, st *quic.Stream, handle func(*message) error) error {
	for ctx.Err() == nil {
		m, err := readMessage(st)
		if err != nil {
			return err
		}
		if err := handle(m); err != nil {
			return err
		}
	}
	return context.Cause(ctx)
}

// layerIndex validates a layer number from the wire.
func layerIndex(l int) (uint8, bool) {
	if l < 0 || l >= maxLayers {
		return 0, false
	}
	return uint8(l), true
}
