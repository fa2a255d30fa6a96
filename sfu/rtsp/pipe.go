package rtsp

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/classcast/classcast/sfu/track"
)

// trackPipe carries one ingested RTSP media into its track.Producer. It is
// fed from one goroutine at a time (gortsplib's reader for that media).
//
// Across a pull source's reconnects the same pipe (and Producer) is kept, so
// it rewrites SSRC, sequence numbers and timestamps to continue where the
// previous connection stopped: subscribers see one stream with a gap, not a
// new stream that jumps backwards.
type trackPipe struct {
	prod  track.Producer
	clock uint32
	h264  *h264ParamSets // nil unless H.264
	now   func() time.Time

	// continuity state (owned by the feeding goroutine)
	started   bool
	rebased   bool // set by rebase, consumed by the next packet
	rewriting bool
	ssrc      uint32
	seqDelta  uint16
	tsDelta   uint32
	lastSeq   uint16
	lastTS    uint32
	lastAt    time.Time

	packets    atomic.Uint64
	bytes      atomic.Uint64
	lastPacket atomic.Int64  // unix nanoseconds
	inSSRC     atomic.Uint32 // SSRC as received, for keyframe requests
}

func newTrackPipe(prod track.Producer, it ingestTrack, now func() time.Time) *trackPipe {
	p := &trackPipe{prod: prod, clock: uint32(it.format.ClockRate()), now: now}
	if it.h264 != nil {
		p.h264 = newH264ParamSets(it.h264.PacketizationMode, it.h264.SPS, it.h264.PPS)
	}
	return p
}

// rebase marks a new upstream connection. Call it only while no packet is
// being fed (between connections).
func (p *trackPipe) rebase(it ingestTrack) {
	if p.started {
		p.rebased = true
	}
	if p.h264 != nil && it.h264 != nil {
		// keep the cached SPS/PPS, take any new ones from the new SDP
		p.h264.setSPS(it.h264.SPS)
		p.h264.setPPS(it.h264.PPS)
		p.h264.haveTS = false
	}
}

// write forwards pkt (and any SPS/PPS to put before it) to the producer.
func (p *trackPipe) write(pkt *rtp.Packet) error {
	now := p.now()
	p.packets.Add(1)
	p.bytes.Add(uint64(len(pkt.Payload)))
	p.lastPacket.Store(now.UnixNano())

	if p.rebased {
		p.rebased, p.rewriting = false, true
		elapsed := now.Sub(p.lastAt)
		// continue one packet after the last, and the clock by the wall time
		// that passed (at least one tick so timestamps never repeat).
		ticks := uint32(elapsed.Seconds()*float64(p.clock)) + 1
		p.seqDelta = p.lastSeq + 1 - pkt.SequenceNumber
		p.tsDelta = p.lastTS + ticks - pkt.Timestamp
	}
	if !p.started {
		p.started, p.ssrc = true, pkt.SSRC
	}

	if p.h264 != nil {
		for _, pre := range p.h264.fix(pkt) {
			if err := p.send(pre, now); err != nil {
				return err
			}
		}
	}
	return p.send(pkt, now)
}

func (p *trackPipe) send(pkt *rtp.Packet, now time.Time) error {
	if p.rewriting {
		pkt.SSRC = p.ssrc
		pkt.SequenceNumber += p.seqDelta
		pkt.Timestamp += p.tsDelta
	}
	p.lastSeq, p.lastTS, p.lastAt = pkt.SequenceNumber, pkt.Timestamp, now
	return p.prod.WriteRTP(0, pkt)
}
