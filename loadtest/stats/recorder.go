package stats

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/classcast/classcast/client-sdk/go/media"
)

// DefaultFreezeGap is the pause between two video frames that counts as a freeze.
const DefaultFreezeGap = 500 * time.Millisecond

// lateFrameWindow: a synthetic sequence this far behind the expected one is a late (reordered or
// retransmitted) frame; further back, the publisher restarted and the count resynchronises.
const lateFrameWindow = 100

// Live are the counters a progress display reads while the track is being received.
type Live struct {
	Bytes, Packets, ExpectedPackets, Frames, FramesLost uint64
}

// Add sums two Live snapshots.
func (l Live) Add(o Live) Live {
	return Live{
		Bytes: l.Bytes + o.Bytes, Packets: l.Packets + o.Packets, ExpectedPackets: l.ExpectedPackets + o.ExpectedPackets,
		Frames: l.Frames + o.Frames, FramesLost: l.FramesLost + o.FramesLost,
	}
}

type liveAtomics struct {
	bytes, packets, expected, frames, framesLost atomic.Uint64
}

// Recorder measures one received track. Observe must be called from the one goroutine reading the
// track; Live from anywhere; Summary once that goroutine has stopped.
type Recorder struct {
	video     bool
	freezeGap time.Duration
	live      liveAtomics

	// Owned by the reading goroutine.
	seqStarted      bool
	baseSeq, maxSeq int64 // extended RTP sequence numbers
	firstPacketNs   int64
	lastPacketNs    int64
	firstFrameNs    int64
	lastFrameNs     int64
	keyframes       uint64
	width, height   int
	synthExpected   uint32
	synthValid      bool
	synthFrames     uint64
	prevTransit     int64
	haveTransit     bool
	jitterNs        float64
	freezes         uint64
	freezeNs        int64
	latency         Histogram
	nonSynthetic    uint64
}

// NewRecorder measures a video (VP8 payloads) or audio (Opus payloads) track. freezeGap ≤ 0 means
// DefaultFreezeGap.
func NewRecorder(video bool, freezeGap time.Duration) *Recorder {
	if freezeGap <= 0 {
		freezeGap = DefaultFreezeGap
	}
	return &Recorder{video: video, freezeGap: freezeGap}
}

// Live returns the counters so far; safe from any goroutine.
func (r *Recorder) Live() Live {
	return Live{
		Bytes: r.live.bytes.Load(), Packets: r.live.packets.Load(), ExpectedPackets: r.live.expected.Load(),
		Frames: r.live.frames.Load(), FramesLost: r.live.framesLost.Load(),
	}
}

// Observe measures one received RTP packet (raw bytes as read from the track) that arrived at now.
// It allocates nothing.
func (r *Recorder) Observe(pkt []byte, now time.Time) {
	seq, payload, ok := ParseRTP(pkt)
	if !ok {
		return
	}
	ns := now.UnixNano()
	if r.firstPacketNs == 0 {
		r.firstPacketNs = ns
	}
	r.lastPacketNs = ns
	r.live.bytes.Add(uint64(len(pkt)))
	r.live.packets.Add(1)
	r.observeSeq(seq)
	if !r.video {
		r.observeFrame(payload, true, ns)
		return
	}
	info, err := media.InspectVP8(payload)
	if err != nil || !info.FrameStart {
		return
	}
	if info.Keyframe {
		r.keyframes++
		if info.Width > 0 && (info.Width != r.width || info.Height != r.height) {
			// A new resolution is a simulcast layer switch: its synthetic sequence is another source's.
			r.width, r.height = info.Width, info.Height
			r.synthValid = false
		}
	}
	r.observeFrame(payload[info.HeaderLen:], false, ns)
}

// observeSeq keeps RFC 3550 style expected/received counts on the RTP sequence number (SFUs
// renumber across layer switches, so gaps are real losses; late retransmissions fill them).
func (r *Recorder) observeSeq(seq uint16) {
	if !r.seqStarted {
		r.seqStarted = true
		r.baseSeq, r.maxSeq = int64(seq), int64(seq)
		r.live.expected.Store(1)
		return
	}
	delta := int64(int16(seq - uint16(r.maxSeq)))
	if ext := r.maxSeq + delta; ext > r.maxSeq {
		r.maxSeq = ext
		r.live.expected.Store(uint64(r.maxSeq - r.baseSeq + 1))
	}
}

func (r *Recorder) observeFrame(frame []byte, audio bool, ns int64) {
	if r.video && r.lastFrameNs != 0 {
		if gap := ns - r.lastFrameNs; gap > int64(r.freezeGap) {
			r.freezes++
			r.freezeNs += gap
		}
	}
	if r.firstFrameNs == 0 {
		r.firstFrameNs = ns
	}
	r.lastFrameNs = ns
	r.live.frames.Add(1)
	f, err := media.ParseSyntheticFrame(frame, audio)
	if err != nil {
		r.nonSynthetic++
		return
	}
	r.synthFrames++
	transit := ns - f.SentAt.UnixNano()
	r.latency.Record(time.Duration(transit))
	switch {
	case !r.synthValid:
		r.synthValid = true
	case f.Sequence == r.synthExpected:
	case f.Sequence-r.synthExpected < 1<<31: // ahead: frames missing
		r.live.framesLost.Add(uint64(f.Sequence - r.synthExpected))
	case r.synthExpected-f.Sequence <= lateFrameWindow: // a late frame fills a gap counted before
		if r.live.framesLost.Load() > 0 {
			r.live.framesLost.Add(^uint64(0))
		}
		return
	}
	r.synthExpected = f.Sequence + 1
	if r.haveTransit {
		d := float64(transit - r.prevTransit)
		if d < 0 {
			d = -d
		}
		r.jitterNs += (d - r.jitterNs) / 16
	}
	r.prevTransit, r.haveTransit = transit, true
}

// ParseRTP reads what a recorder needs from an RTP packet: sequence number and payload (after
// CSRCs, header extension and padding).
func ParseRTP(b []byte) (seq uint16, payload []byte, ok bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return 0, nil, false
	}
	seq = binary.BigEndian.Uint16(b[2:])
	off := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 { // extension
		if len(b) < off+4 {
			return 0, nil, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 && end > 0 { // padding
		end -= int(b[end-1])
	}
	if off > end {
		return 0, nil, false
	}
	return seq, b[off:end], true
}

// Summary is what a Recorder measured.
type Summary struct {
	Video                   bool
	Packets, Bytes          uint64
	PacketsLost             uint64
	Frames, FramesLost      uint64
	SyntheticFrames         uint64
	Keyframes               uint64
	Width, Height           int
	FirstPacket, LastPacket time.Time
	FirstFrame              time.Time
	Jitter                  time.Duration
	Freezes                 uint64
	FreezeTime              time.Duration
	// Latency is the end-to-end latency of synthetic frames (send timestamp to arrival).
	Latency *Histogram
}

// Bitrate is bits per second between the first and the last packet.
func (s Summary) Bitrate() float64 {
	d := s.LastPacket.Sub(s.FirstPacket).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(s.Bytes) * 8 / d
}

// PacketLoss is the fraction of expected RTP packets that never arrived.
func (s Summary) PacketLoss() float64 { return ratio(s.PacketsLost, s.Packets+s.PacketsLost) }

// FrameLoss is the fraction of synthetic frames missing from the sequence.
func (s Summary) FrameLoss() float64 { return ratio(s.FramesLost, s.SyntheticFrames+s.FramesLost) }

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func timeOrZero(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Summary returns the measurements; call it after the reading goroutine stopped.
func (r *Recorder) Summary() Summary {
	l := r.Live()
	lost := uint64(0)
	if l.ExpectedPackets > l.Packets {
		lost = l.ExpectedPackets - l.Packets
	}
	h := r.latency
	return Summary{
		Video: r.video, Packets: l.Packets, Bytes: l.Bytes, PacketsLost: lost,
		Frames: l.Frames, FramesLost: l.FramesLost, SyntheticFrames: r.synthFrames, Keyframes: r.keyframes,
		Width: r.width, Height: r.height,
		FirstPacket: timeOrZero(r.firstPacketNs), LastPacket: timeOrZero(r.lastPacketNs), FirstFrame: timeOrZero(r.firstFrameNs),
		Jitter: time.Duration(r.jitterNs), Freezes: r.freezes, FreezeTime: time.Duration(r.freezeNs), Latency: &h,
	}
}
