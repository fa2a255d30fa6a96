package cascade

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/quic-go/quic-go"
)

// datagramConn is the part of *quic.Conn the sender uses.
type datagramConn interface {
	SendDatagram(b []byte) error
}

// sender queues media frames for one connection in a fixed-slot ring and
// sends them from its own goroutine. Producers (the SFU's forwarding
// goroutines) never block: quic-go's SendDatagram blocks once its own
// 32-frame queue is full (congestion window exhausted), so a full ring drops
// the new packet instead, and the child's NACK brings it back if it still
// matters. Nothing here allocates per packet.
type sender struct {
	conn datagramConn
	wake chan struct{}

	mu    sync.Mutex
	slots [][maxFrameLen]byte
	lens  []int
	at    []int64 // unix nanos each slot was queued
	head  int
	count int

	sent, dropped, tooLarge, stale atomic.Uint64
}

func newSender(conn datagramConn, slots int) *sender {
	return &sender{
		conn:  conn,
		wake:  make(chan struct{}, 1),
		slots: make([][maxFrameLen]byte, slots),
		lens:  make([]int, slots),
		at:    make([]int64, slots),
	}
}

// reserveLocked returns the next free slot index, or -1 if the ring is
// full. Called with mu held.
func (s *sender) reserveLocked() int {
	if s.count == len(s.slots) {
		return -1
	}
	return (s.head + s.count) % len(s.slots)
}

func (s *sender) commitLocked(idx, n int) {
	s.lens[idx] = n
	s.at[idx] = time.Now().UnixNano()
	s.count++
}

// maxQueueAge: a frame that waited this long for the congestion window is
// dropped at the head of the queue instead of sent. Live media is useless
// late, and a full queue of stale frames would otherwise make every newer
// packet (the keyframe a subscriber waits for, another layer) drop at the
// tail for as long as the backlog takes to drain. The child NACKs what
// still matters.
const maxQueueAge = int64(500 * time.Millisecond)

func (s *sender) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// writeRTP queues one packet given as header + payload (the track.RTPWriter
// shape). It reports whether the packet was queued.
func (s *sender) writeRTP(num uint16, layer uint8, h *rtp.Header, payload []byte) bool {
	s.mu.Lock()
	idx := s.reserveLocked()
	if idx < 0 {
		s.mu.Unlock()
		s.dropped.Add(1)
		return false
	}
	n := marshalFrame(s.slots[idx][:], num, layer, h, payload)
	if n == 0 {
		s.mu.Unlock()
		s.tooLarge.Add(1)
		return false
	}
	s.commitLocked(idx, n)
	s.mu.Unlock()
	s.notify()
	return true
}

// writeRaw queues one raw RTP packet (a retransmission from the cache).
func (s *sender) writeRaw(num uint16, layer uint8, rtx bool, pkt []byte) bool {
	if frameHeaderLen+len(pkt) > maxFrameLen {
		s.tooLarge.Add(1)
		return false
	}
	s.mu.Lock()
	idx := s.reserveLocked()
	if idx < 0 {
		s.mu.Unlock()
		s.dropped.Add(1)
		return false
	}
	b := s.slots[idx][:]
	putFrameHeader(b, num, layer, rtx)
	n := frameHeaderLen + copy(b[frameHeaderLen:], pkt)
	s.commitLocked(idx, n)
	s.mu.Unlock()
	s.notify()
	return true
}

// run sends queued frames until ctx ends or the connection fails. The slot
// being sent stays owned by run (count still includes it) until
// SendDatagram has copied it.
func (s *sender) run(ctx context.Context) error {
	for {
		s.mu.Lock()
		for s.count == 0 {
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-s.wake:
			}
			s.mu.Lock()
		}
		idx, n, at := s.head, s.lens[s.head], s.at[s.head]
		s.mu.Unlock()

		if time.Now().UnixNano()-at > maxQueueAge {
			s.mu.Lock()
			s.head = (s.head + 1) % len(s.slots)
			s.count--
			s.mu.Unlock()
			s.stale.Add(1)
			continue
		}

		err := s.conn.SendDatagram(s.slots[idx][:n])

		s.mu.Lock()
		s.head = (s.head + 1) % len(s.slots)
		s.count--
		s.mu.Unlock()

		if err == nil {
			s.sent.Add(1)
			continue
		}
		if !isTooLarge(err) {
			return err
		}
		// Path MTU below this packet: it is lost for this link (see
		// DESIGN.md, "Datagram size").
		s.tooLarge.Add(1)
	}
}

// isTooLarge is out of line so the error target only escapes on errors.
func isTooLarge(err error) bool {
	var tooLarge *quic.DatagramTooLargeError
	return errors.As(err, &tooLarge)
}
