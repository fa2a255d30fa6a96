package cascade

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/rtp"
)

// sender queues media frames for one child in a fixed-slot ring and sends
// them from its own goroutine, sealed as media-plane packets straight to the
// child's address. Producers (the SFU's forwarding goroutines) never block:
// a full ring drops the new packet, and the child's NACK brings it back if
// it still matters. There is no congestion control here on purpose (see
// DESIGN.md): the ring only absorbs bursts the socket write cannot take at
// once. Nothing here allocates per packet.
type sender struct {
	out  packetWriter
	peer netip.AddrPort
	wake chan struct{}
	// seal is set before run starts and then used by run only.
	seal sealer

	mu sync.Mutex
	// Each slot is a whole packet: the frame is written at planeHeaderLen
	// and sealed in place, so sending copies nothing.
	slots [][maxPlanePacket]byte
	lens  []int   // frame length
	at    []int64 // unix nanos each slot was queued
	head  int
	count int

	sent, dropped, tooLarge, stale, failed atomic.Uint64
}

func newSender(out packetWriter, peer netip.AddrPort, slots int) *sender {
	return &sender{
		out:   out,
		peer:  peer,
		wake:  make(chan struct{}, 1),
		slots: make([][maxPlanePacket]byte, slots),
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

// maxQueueAge: a frame that waited this long in the ring is dropped at the
// head of the queue instead of sent. Without congestion control the ring
// drains at socket speed, so this only fires when the sender goroutine is
// starved of CPU; live media is useless late, and a queue of stale frames
// would make every newer packet drop at the tail until it drained. The
// child NACKs what still matters.
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
	n := marshalFrame(s.slots[idx][planeHeaderLen:planeHeaderLen+maxFrameLen], num, layer, h, payload)
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
	b := s.slots[idx][planeHeaderLen:]
	putFrameHeader(b, num, layer, rtx)
	n := frameHeaderLen + copy(b[frameHeaderLen:], pkt)
	s.commitLocked(idx, n)
	s.mu.Unlock()
	s.notify()
	return true
}

// run seals and sends queued frames until ctx ends or the socket is
// closed. The slot being sent stays owned by run (count still includes it)
// until the write returns.
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

		var err error
		stale := time.Now().UnixNano()-at > maxQueueAge
		if !stale {
			_, err = s.out.WriteToUDPAddrPort(s.seal.seal(s.slots[idx][:], kindMedia, n), s.peer)
		}

		s.mu.Lock()
		s.head = (s.head + 1) % len(s.slots)
		s.count--
		s.mu.Unlock()

		switch {
		case stale:
			s.stale.Add(1)
		case err == nil:
			s.sent.Add(1)
		case errors.Is(err, net.ErrClosed):
			return err
		case errors.Is(err, syscall.EMSGSIZE):
			// Path MTU below this packet (the socket has DF set): it is lost
			// for this link (see DESIGN.md, "Packet size").
			s.tooLarge.Add(1)
		default:
			// ENOBUFS and the like: one packet lost, NACK recovers it.
			s.failed.Add(1)
		}
	}
}
