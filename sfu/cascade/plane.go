package cascade

import (
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"
)

// The media plane shares the QUIC connection's UDP socket: same port, same
// NAT binding, same firewall rule, no second handshake. planeConn sits
// between the socket and quic-go and takes out the packets whose first byte
// has the top two bits clear, which QUIC never sends.

// socketBuffer is asked for on both directions, best effort (the kernel
// caps it at net.core.[rw]mem_max). A keyframe burst from several tracks
// arrives faster than one goroutine drains it; a small buffer turns that
// burst into loss.
const socketBuffer = 4 << 20

// planeHandler takes media-plane packets, inline on the socket's read
// goroutine. b is only valid during the call; the handler may decrypt it in
// place.
type planeHandler interface {
	handlePlane(b []byte)
}

// packetWriter is the part of *net.UDPConn the media plane sends with.
type packetWriter interface {
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

// planeConn is the net.PacketConn given to quic.Transport. It forwards what
// quic-go's wrapConn asks for (buffer sizes, SyscallConn for the DF bit) so
// quic-go neither warns nor loses features it uses on a plain socket, but
// deliberately not ReadMsgUDP/WriteMsgUDP: with them quic-go would read
// batches through the raw socket and bypass ReadFrom. quic-go's own
// Transport.ReadNonQUICPacket is not used because it queues only 32
// packets and silently drops the rest of a keyframe burst; here the
// handler runs inline, with no queue and no copy.
type planeConn struct {
	udp *net.UDPConn
	h   planeHandler
}

func newPlaneConn(udp *net.UDPConn, h planeHandler) *planeConn {
	_ = udp.SetReadBuffer(socketBuffer)
	_ = udp.SetWriteBuffer(socketBuffer)
	return &planeConn{udp: udp, h: h}
}

// ReadFrom returns the next QUIC packet; media-plane packets read on the
// way are handled and never reach quic-go.
func (c *planeConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, from, err := c.udp.ReadFromUDPAddrPort(p)
		if err != nil {
			return n, nil, err // unwrapped: quic-go checks net.Error
		}
		if isPlanePacket(p[:n]) {
			c.h.handlePlane(p[:n])
			continue
		}
		return n, net.UDPAddrFromAddrPort(from), nil
	}
}

func (c *planeConn) WriteTo(p []byte, addr net.Addr) (int, error) { return c.udp.WriteTo(p, addr) }
func (c *planeConn) Close() error                                 { return c.udp.Close() }
func (c *planeConn) LocalAddr() net.Addr                          { return c.udp.LocalAddr() }
func (c *planeConn) SetDeadline(t time.Time) error                { return c.udp.SetDeadline(t) }
func (c *planeConn) SetReadDeadline(t time.Time) error            { return c.udp.SetReadDeadline(t) }
func (c *planeConn) SetWriteDeadline(t time.Time) error           { return c.udp.SetWriteDeadline(t) }
func (c *planeConn) SetReadBuffer(n int) error                    { return c.udp.SetReadBuffer(n) }
func (c *planeConn) SetWriteBuffer(n int) error                   { return c.udp.SetWriteBuffer(n) }
func (c *planeConn) SyscallConn() (syscall.RawConn, error)        { return c.udp.SyscallConn() }

var _ net.PacketConn = (*planeConn)(nil)

// listenToward opens the child's socket on the local address the OS would
// use to reach parent (so a loopback parent means a loopback-only socket),
// on a free port. Connecting a UDP socket sends nothing; it only asks the
// routing table.
func listenToward(parent *net.UDPAddr) (*net.UDPConn, error) {
	probe, err := net.DialUDP("udp", nil, parent)
	if err != nil {
		return nil, fmt.Errorf("cascade: route to %s: %w", parent, err)
	}
	local, _ := probe.LocalAddr().(*net.UDPAddr)
	_ = probe.Close()
	if local == nil {
		return nil, fmt.Errorf("%w: no local address toward %s", errInvalidConfig, parent)
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: local.IP, Zone: local.Zone})
	if err != nil {
		return nil, fmt.Errorf("cascade: listen on %s: %w", local.IP, err)
	}
	return udp, nil
}

// peerAddrPort converts a peer address once per connection, so sends pass
// a netip.AddrPort and do not allocate.
func peerAddrPort(a net.Addr) (netip.AddrPort, error) {
	ua, ok := a.(*net.UDPAddr)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%w: peer address %v is not UDP", errInvalidConfig, a)
	}
	ap := ua.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// PlaneStats counts media-plane packets received by one end.
type PlaneStats struct {
	Accepted uint64 // authenticated and handed on
	Rejected uint64 // malformed, unknown session or failed authentication
	Replayed uint64 // authenticated counter already seen, or older than the window
	// BadFrames were authenticated but held no valid frame for a known
	// track (child side).
	BadFrames uint64
}

type planeCounters struct{ accepted, rejected, replayed, badFrames atomic.Uint64 }

func (c *planeCounters) count(r openResult) {
	switch r {
	case openOK:
		c.accepted.Add(1)
	case openReplay:
		c.replayed.Add(1)
	default:
		c.rejected.Add(1)
	}
}

func (c *planeCounters) snapshot() PlaneStats {
	return PlaneStats{Accepted: c.accepted.Load(), Rejected: c.rejected.Load(), Replayed: c.replayed.Load(),
		BadFrames: c.badFrames.Load()}
}
