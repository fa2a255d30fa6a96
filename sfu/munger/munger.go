// Package munger makes what one subscriber receives look like ONE continuous
// RTP stream while the SFU switches it between simulcast layers (different
// SSRCs, sequence-number spaces and timestamp bases), drops packets on
// purpose (temporal layers above the chosen one, padding-only packets),
// mutes and resumes.
//
// Munger rewrites sequence numbers and timestamps and remembers recent
// mappings so that a subscriber's NACK can be answered from the right
// layer's packet cache. VP8Munger does the same for VP8 picture ids and
// TL0PICIDX and decides which temporal layers to forward.
//
// Per packet of the selected source, the subscriber's writer does:
//
//	d, err := codec.ParseVP8(payload)            // VP8 only
//	v, act := vp8m.Munge(&d, source, sw)         // VP8 only
//	VP8Drop:   m.Drop(seq); skip
//	VP8Refuse: skip (a loss to the receiver)
//	out, ok := m.Rewrite(In{..., Source: source, Switch: sw})
//	!ok: skip
//	copy the packet into the subscriber's own buffer, set out.Seq/out.TS
//	(and SSRC, payload type) in its header, codec.RewriteVP8(copy, v.PictureID, v.TL0PICIDX)
//
// Padding-only packets of the selected source go to m.Drop. sw is true for
// exactly one packet: the first one written from a new source (layer switch,
// resume after mute), which must start a keyframe. Retransmissions of
// packets of the current source go through the same path and come out with
// the same numbers. Never rewrite the shared packet-cache bytes in place.
//
// Nothing here allocates per packet.
package munger

import "sync"

// In describes an incoming packet of the source currently selected for the
// subscriber.
type In struct {
	Seq    uint16
	TS     uint32
	Marker bool
	// ArrivalNanos is when the packet arrived (any monotonic clock in
	// nanoseconds, the same for all sources of this Munger).
	ArrivalNanos int64
	// ClockRate of the codec, e.g. 90000 for video, 48000 for opus.
	ClockRate uint32
	// Source identifies where the packet comes from, e.g. the simulcast
	// layer index. Lookup reports it back.
	Source uint8
	// Switch marks the first packet from a new source: a layer switch or
	// the first packet after a mute. For video it must start a keyframe.
	Switch bool
}

// Out is the sequence number and timestamp to send.
type Out struct {
	Seq uint16
	TS  uint32
}

const (
	// maxRanges bounds the history of intentional drops that late packets
	// are mapped through. Each range is a run of input sequence numbers
	// sharing one offset; a new one starts after each dropped packet that
	// did not directly follow another drop.
	maxRanges = 64
	// lookupSize is how many recent output sequence numbers Lookup
	// remembers exactly (a power of two).
	lookupSize = 1024
	// maxLate is how far behind the newest packet a late packet of the
	// current source may be and still be forwarded. Beyond it the
	// sequence-number extension becomes ambiguous.
	maxLate = 0x4000
)

// seqRange maps input sequence numbers from start (extended) onwards until
// the next range: out = in + delta (both extended).
type seqRange struct {
	start int64
	delta int64
	// dropped counts the input sequence numbers just before start that
	// were dropped on purpose; they are refused if they come back.
	dropped int64
}

type mapping struct {
	out    uint16
	in     uint16
	source uint8
	valid  bool
	// padding marks an output number given to a padding-only packet (Pad):
	// it was sent from no input packet.
	padding bool
}

// Munger rewrites sequence numbers and timestamps for one subscriber of one
// track. It is safe for concurrent use: typically the subscriber's writer
// calls Rewrite and Drop while its RTCP reader calls Lookup. The zero value
// is not ready: use New.
type Munger struct {
	mu sync.Mutex

	started bool
	source  uint8
	// tsOffset maps the current source's timestamps: out = in + tsOffset.
	tsOffset uint32

	// Input side, extended sequence numbers of the current source.
	highestIn int64
	// highestFwd is the newest input packet forwarded: a dropped packet
	// after it can still be taken out of the numbering.
	highestFwd int64
	// ranges is a ring; ranges[(head-1)%maxRanges] is the newest and
	// count the number in use. The oldest range's start is the first
	// packet that may be forwarded.
	ranges [maxRanges]seqRange
	head   int
	count  int

	// Output side.
	lastOutSeq  int64 // extended
	lastOutTS   uint32
	lastArrival int64 // arrival of the newest packet carrying lastOutTS
	lastMarker  bool

	lookup [lookupSize]mapping
}

// New returns a Munger. The first packet it sees must have Switch set or be
// the first of the stream; its sequence number and timestamp are kept as
// they are (they are already random as RFC 3550 wants).
func New() *Munger {
	return &Munger{}
}

// Rewrite maps an incoming packet to the outgoing sequence number and
// timestamp. ok is false when the packet must not be sent: it comes from a
// source other than the current one, from before the current source's
// switch point, is a late copy of a packet dropped on purpose, or is too
// late to place. Retransmissions and reordered packets of the current source
// map to the same output as the first time.
func (m *Munger) Rewrite(p In) (Out, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started || p.Switch {
		return m.switchLocked(p), true
	}
	if p.Source != m.source {
		return Out{}, false
	}
	ext := m.extendLocked(p.Seq)
	if m.highestIn-ext >= maxLate {
		return Out{}, false
	}
	r, ok := m.rangeForLocked(ext)
	if !ok {
		return Out{}, false
	}
	outExt := ext + r.delta
	out := Out{Seq: uint16(outExt), TS: p.TS + m.tsOffset}
	if ext > m.highestIn {
		m.highestIn = ext
	}
	if ext > m.highestFwd {
		m.highestFwd = ext
		m.lastOutSeq = outExt
		m.lastMarker = p.Marker
	}
	if d := int32(out.TS - m.lastOutTS); d >= 0 {
		m.lastOutTS = out.TS
		m.lastArrival = p.ArrivalNanos
	}
	m.recordLocked(out.Seq, p.Seq, p.Source)
	return out, true
}

// switchLocked starts a new source: sequence numbers continue right after
// the last one sent, and the timestamp advances by the wall-clock time since
// the last packet sent (at least one tick, so the new frame never shares a
// timestamp with the old one). Called with mu held.
func (m *Munger) switchLocked(p In) Out {
	outSeq := int64(p.Seq)
	outTS := p.TS
	if m.started {
		outSeq = m.lastOutSeq + 1
		outTS = m.lastOutTS + max(1, ticks(p.ArrivalNanos-m.lastArrival, p.ClockRate))
	}
	ext := int64(p.Seq)
	m.started = true
	m.source = p.Source
	m.tsOffset = outTS - p.TS
	m.highestIn, m.highestFwd = ext, ext
	m.ranges[0] = seqRange{start: ext, delta: outSeq - ext}
	m.head, m.count = 1, 1
	m.lastOutSeq = outSeq
	m.lastOutTS = outTS
	m.lastArrival = p.ArrivalNanos
	m.lastMarker = p.Marker
	m.recordLocked(uint16(outSeq), p.Seq, p.Source)
	return Out{Seq: uint16(outSeq), TS: outTS}
}

// ticks converts a duration to RTP clock ticks without overflowing for
// durations of days; negative durations count as zero.
func ticks(nanos int64, clockRate uint32) uint32 {
	if nanos <= 0 {
		return 0
	}
	const second = int64(1e9)
	rate := int64(clockRate)
	return uint32(nanos/second*rate + nanos%second*rate/second)
}

// extendLocked places a 16-bit sequence number of the current source on
// the extended axis, as the nearest value to the newest one. Called with mu
// held.
func (m *Munger) extendLocked(seq uint16) int64 {
	return m.highestIn + int64(int16(seq-uint16(m.highestIn)))
}

// rangeForLocked finds the range that maps ext; ok is false when ext is
// before the oldest range or was dropped on purpose. Called with mu held.
func (m *Munger) rangeForLocked(ext int64) (seqRange, bool) {
	var newer *seqRange
	for k := 1; k <= m.count; k++ {
		r := &m.ranges[(m.head-k+maxRanges)%maxRanges]
		if r.start <= ext {
			if newer != nil && ext >= newer.start-newer.dropped {
				return seqRange{}, false
			}
			return *r, true
		}
		newer = r
	}
	return seqRange{}, false
}

func (m *Munger) recordLocked(out, in uint16, source uint8) {
	m.lookup[out&(lookupSize-1)] = mapping{out: out, in: in, source: source, valid: true}
}

// Drop marks a packet of the current source as skipped on purpose (a
// padding-only packet, a packet of a VP8 frame whose temporal layer is not
// forwarded). As long as no newer packet has been forwarded, later packets
// are renumbered to close the gap and Drop returns true; this holds even
// when packets of the dropped run arrive out of order. Otherwise the output
// already has a hole for it, which stays: the receiver will see a loss and
// NACK it, and Lookup will say where it came from.
func (m *Munger) Drop(seq uint16) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started {
		return false
	}
	ext := m.extendLocked(seq)
	switch {
	case ext > m.highestIn:
		m.highestIn = ext
		return m.dropNewestLocked(ext)
	case ext > m.highestFwd:
		return m.dropLateLocked(ext)
	default:
		return false
	}
}

// dropNewestLocked takes the newest packet seen out of the numbering.
// Called with mu held.
func (m *Munger) dropNewestLocked(ext int64) bool {
	newest := m.rangeAt(m.count - 1)
	if newest.start == ext {
		// Directly after the previous drop: widen it.
		newest.start++
		newest.delta--
		newest.dropped++
		return true
	}
	if m.count == maxRanges {
		m.count-- // the oldest range is forgotten; its packets are refused
	}
	m.ranges[m.head] = seqRange{start: ext + 1, delta: newest.delta - 1, dropped: 1}
	m.head = (m.head + 1) % maxRanges
	m.count++
	return true
}

// dropLateLocked takes out of the numbering a packet older than the newest
// seen but newer than every packet forwarded: the output numbers after it
// have not been used yet, so every range from it on shifts down by one.
// Called with mu held.
func (m *Munger) dropLateLocked(ext int64) bool {
	j := -1
	for i := m.count - 1; i >= 0; i-- {
		if m.rangeAt(i).start <= ext {
			j = i
			break
		}
	}
	if j < 0 {
		return false
	}
	if j+1 < m.count {
		if next := m.rangeAt(j + 1); ext >= next.start-next.dropped {
			return false // already dropped
		}
	}
	r := m.rangeAt(j)
	if r.start == ext {
		r.start++
		r.dropped++
	} else {
		if m.count == maxRanges {
			return false // no room to split: leave the hole
		}
		// Insert {ext+1} after j by shifting the newer ranges up.
		for i := m.count; i > j+1; i-- {
			*m.rangeAt(i) = *m.rangeAt(i - 1)
		}
		m.head = (m.head + 1) % maxRanges
		m.count++
		*m.rangeAt(j + 1) = seqRange{start: ext + 1, delta: r.delta, dropped: 1}
		j++
	}
	for i := j; i < m.count; i++ {
		m.rangeAt(i).delta--
	}
	return true
}

// Pad numbers a padding-only packet the caller sends on this stream (a
// bandwidth probe while the stream is paused, or when the subscriber has no
// retransmission stream): the next number after the newest packet sent, and
// its timestamp. Packets forwarded later are numbered after it, so the
// receiver sees no gap; packets older than the newest forwarded keep their
// numbers. Lookup reports a padded number as not found (nothing to resend).
// ok is false before the first packet.
func (m *Munger) Pad() (Out, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started {
		return Out{}, false
	}
	next := m.highestFwd + 1
	j := -1
	for i := m.count - 1; i >= 0; i-- {
		if m.rangeAt(i).start <= next {
			j = i
			break
		}
	}
	if j < 0 {
		return Out{}, false
	}
	if r := m.rangeAt(j); r.start != next {
		delta := r.delta
		if m.count == maxRanges {
			// Forget the oldest range, as a drop does: only packets too
			// late to forward map through it. Refusing instead would stop
			// probing for good on a stream whose temporal-layer drops keep
			// the history full, and a paused camera would never resume.
			m.count--
			j--
		}
		// Insert {next} after j by shifting the newer ranges up.
		for i := m.count; i > j+1; i-- {
			*m.rangeAt(i) = *m.rangeAt(i - 1)
		}
		m.head = (m.head + 1) % maxRanges
		m.count++
		*m.rangeAt(j + 1) = seqRange{start: next, delta: delta}
		j++
	}
	// Every input number from next on goes one output number later.
	for i := j; i < m.count; i++ {
		m.rangeAt(i).delta++
	}
	m.lastOutSeq++
	out := Out{Seq: uint16(m.lastOutSeq), TS: m.lastOutTS}
	m.lookup[out.Seq&(lookupSize-1)] = mapping{out: out.Seq, valid: true, padding: true}
	return out, true
}

// rangeAt returns the i-th range, oldest first. Called with mu held.
func (m *Munger) rangeAt(i int) *seqRange {
	return &m.ranges[(m.head-m.count+i+2*maxRanges)%maxRanges]
}

// Lookup translates the sequence number of a packet a subscriber NACKed to
// the source and the input sequence number it was (or would have been)
// sent from, so that the SFU can answer from that source's packet cache.
// The last lookupSize packets sent are remembered exactly; older ones, and
// packets lost upstream before they could be sent, are computed for the
// current source.
func (m *Munger) Lookup(outSeq uint16) (inSeq uint16, source uint8, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.lookup[outSeq&(lookupSize-1)]; e.valid && e.out == outSeq {
		return e.in, e.source, !e.padding
	}
	if !m.started {
		return 0, 0, false
	}
	outExt := m.lastOutSeq + int64(int16(outSeq-uint16(m.lastOutSeq)))
	if outExt > m.lastOutSeq {
		return 0, 0, false
	}
	for k := 1; k <= m.count; k++ {
		r := &m.ranges[(m.head-k+maxRanges)%maxRanges]
		if outExt >= r.start+r.delta {
			return uint16(outExt - r.delta), m.source, true
		}
	}
	return 0, 0, false
}

// TranslateTS maps a timestamp of source into the output timestamp space,
// e.g. the RTP timestamp of the publisher's RTCP sender report for the
// subscriber's own report. ok is false unless source is the current one.
func (m *Munger) TranslateTS(source uint8, ts uint32) (uint32, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started || source != m.source {
		return 0, false
	}
	return ts + m.tsOffset, true
}

// Last returns the newest sequence number and timestamp sent, and whether
// the newest packet sent had the marker bit (ended a frame): the place to
// switch layers without cutting a frame in half. ok is false before the
// first packet.
func (m *Munger) Last() (out Out, marker bool, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Out{Seq: uint16(m.lastOutSeq), TS: m.lastOutTS}, m.lastMarker, m.started
}

// Source returns the current source; ok is false before the first packet.
func (m *Munger) Source() (source uint8, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.source, m.started
}
