package trackwriter

import (
	"time"

	"github.com/pion/rtp"
)

// maxPayload bounds what one slot holds; WebRTC keeps RTP under the path MTU.
const maxPayload = 1500

// slot is one queued packet. Slots are preallocated and move between the
// free list and the ready queue, so WriteRTP allocates nothing.
type slot struct {
	seq     uint16
	ts      uint32
	marker  bool
	arrival time.Time
	n       int
	buf     [maxPayload]byte
}

func (s *slot) payload() []byte { return s.buf[:s.n] }

// WriteRTP implements track.RTPWriter. It never blocks: when the writer
// goroutine falls behind and no slot is free the packet is dropped and
// counted (the jitter buffer then sees a gap, as for a network loss).
func (w *Writer) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if len(payload) > maxPayload {
		w.stats.oversize.Add(1)
		return 0, nil
	}
	var s *slot
	select {
	case s = <-w.free:
	default:
		w.stats.dropped.Add(1)
		return 0, nil
	}
	s.seq, s.ts, s.marker = h.SequenceNumber, h.Timestamp, h.Marker
	s.arrival = w.now()
	s.n = copy(s.buf[:], payload)
	w.stats.packets.Add(1)
	w.ready <- s // never blocks: ready has room for every slot
	return len(payload), nil
}

// WriteSenderReport implements track.SenderReportWriter.
func (w *Writer) WriteSenderReport(wallClock time.Time, rtpTimestamp uint32) {
	w.srMu.Lock()
	w.sr = senderReport{wall: wallClock, rtp: rtpTimestamp, ok: true}
	w.srMu.Unlock()
}

type senderReport struct {
	wall time.Time
	rtp  uint32
	ok   bool
}
