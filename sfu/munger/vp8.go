package munger

import "github.com/classcast/classcast/sfu/codec"

// VP8Action says what to do with a VP8 packet.
type VP8Action uint8

const (
	// VP8Forward: send it, with the picture id and TL0PICIDX of VP8Out
	// written by codec.RewriteVP8.
	VP8Forward VP8Action = iota
	// VP8Drop: skip it on purpose (its temporal layer is not forwarded)
	// and call Munger.Drop with its sequence number so that the sequence
	// numbers stay continuous.
	VP8Drop
	// VP8Refuse: it cannot be placed consistently (another source, from
	// before the switch, or a frame so late that picture ids were already
	// renumbered past it). Skip it without calling Munger.Drop: to the
	// receiver it is a loss.
	VP8Refuse
)

// VP8Out holds the values to write into a forwarded packet.
type VP8Out struct {
	PictureID uint16
	TL0PICIDX uint8
}

// vp8FrameRingSize is how many recent frames (picture ids) keep their
// decision, so that every packet of a frame, and its retransmissions, gets
// the same answer.
const vp8FrameRingSize = 64

type vp8Frame struct {
	in  int64 // extended input picture id
	out int64 // extended output picture id, if forwarded
	// delta is output minus input for the frames after this one, up to
	// the next frame dropped on purpose.
	delta   int64
	forward bool
	valid   bool
}

// VP8Munger keeps VP8 picture ids (15-bit) and TL0PICIDX continuous for one
// subscriber across layer switches and across frames of temporal layers that
// are not forwarded, and chooses which temporal layers to forward.
//
// Frames are identified by their picture id: packets without one are
// forwarded unchanged (if their temporal layer is) and nothing is
// renumbered. The first packet of each frame decides for the whole frame.
//
// A VP8Munger is not safe for concurrent use: it is driven by the same
// goroutine that calls Munger.Rewrite for the subscriber.
type VP8Munger struct {
	started bool
	source  uint8
	pidMod  int64 // 1<<15 or 1<<7, the width of the current source's ids

	highestIn int64 // newest input picture id, extended
	floorIn   int64 // first input picture id of the current source
	delta     int64 // output = input + delta, extended
	lastOut   int64

	tl0Delta   uint8 // output TL0PICIDX = input + tl0Delta
	lastOutTL0 uint8
	haveTL0    bool

	target  uint8 // highest temporal layer wanted
	current uint8 // highest temporal layer being forwarded

	frames [vp8FrameRingSize]vp8Frame
}

// NewVP8 returns a VP8Munger forwarding every temporal layer.
func NewVP8() *VP8Munger {
	return &VP8Munger{target: 3, current: 3}
}

// SetMaxTemporalLayer sets the highest temporal layer (TID) to forward.
// Going down takes effect at the next frame; going up waits for a frame the
// higher layers can be decoded from: a layer-sync frame (Y=1) of a layer up
// to the target, a TL0 frame, or a switch.
func (m *VP8Munger) SetMaxTemporalLayer(tid uint8) {
	m.target = min(tid, 3)
}

// MaxTemporalLayer returns the temporal layer currently forwarded.
func (m *VP8Munger) MaxTemporalLayer() uint8 { return m.current }

// Munge decides about a VP8 packet from source whose payload descriptor is
// d. sw is In.Switch: the packet is the first from a new source and starts a
// keyframe. It returns the values to write with codec.RewriteVP8 when the
// action is VP8Forward.
func (m *VP8Munger) Munge(d *codec.VP8Descriptor, source uint8, sw bool) (VP8Out, VP8Action) {
	if !m.started || sw {
		return m.switchTo(d, source), VP8Forward
	}
	if source != m.source {
		return VP8Out{}, VP8Refuse
	}
	if !d.HasPictureID {
		if m.temporalAllowed(d) {
			return VP8Out{TL0PICIDX: m.tl0(d)}, VP8Forward
		}
		return VP8Out{}, VP8Drop
	}
	ext := m.extend(d.PictureID)
	f := m.frame(ext)
	switch {
	case f.valid && f.in == ext:
		// Another packet of a frame already decided.
	case ext > m.highestIn:
		m.decideNewest(d, ext, f)
	default:
		if !m.placeLate(d, ext, f) {
			return VP8Out{}, VP8Refuse
		}
	}
	if !f.forward {
		return VP8Out{}, VP8Drop
	}
	return VP8Out{PictureID: m.pid(f.out), TL0PICIDX: m.tl0(d)}, VP8Forward
}

// decideNewest decides for the first packet of the newest frame so far.
func (m *VP8Munger) decideNewest(d *codec.VP8Descriptor, ext int64, f *vp8Frame) {
	forward := m.temporalAllowed(d)
	m.highestIn = ext
	if !forward {
		m.delta--
	}
	*f = vp8Frame{in: ext, out: ext + m.delta, delta: m.delta, forward: forward, valid: true}
	if !forward {
		return
	}
	m.lastOut = f.out
	if d.HasTL0PICIDX {
		m.lastOutTL0 = d.TL0PICIDX + m.tl0Delta
	}
}

// placeLate decides for the first packet of a frame older than the newest
// one: it takes the numbering of the nearest older frame seen, since no
// frame between them was dropped on purpose. A late frame of a layer not
// forwarded is dropped, but the ids after it were already given out, so its
// id stays a gap (a loss to the receiver). It returns false when the frame
// cannot be placed: before the switch, or older than the frame ring.
func (m *VP8Munger) placeLate(d *codec.VP8Descriptor, ext int64, f *vp8Frame) bool {
	if ext < m.floorIn || m.highestIn-ext >= vp8FrameRingSize {
		return false
	}
	for e := ext - 1; e >= m.floorIn && m.highestIn-e < vp8FrameRingSize; e-- {
		if g := m.frame(e); g.valid && g.in == e {
			forward := !d.HasTID || d.TID <= m.current
			*f = vp8Frame{in: ext, out: ext + g.delta, delta: g.delta, forward: forward, valid: true}
			if forward && f.out > m.lastOut {
				// Newer than every frame sent (those after it were
				// all dropped): a switch must continue after it.
				m.lastOut = f.out
				if d.HasTL0PICIDX {
					m.lastOutTL0 = m.tl0(d)
				}
			}
			return true
		}
	}
	return false
}

// temporalAllowed applies the temporal-layer policy to the first packet of
// a new frame, stepping the current layer towards the target where that is
// safe.
func (m *VP8Munger) temporalAllowed(d *codec.VP8Descriptor) bool {
	if !d.HasTID {
		return true
	}
	tid := d.TID
	switch {
	case m.target < m.current:
		m.current = m.target
	case m.target > m.current && tid == 0:
		m.current = m.target
	case m.target > m.current && d.LayerSync && tid <= m.target && tid > m.current:
		m.current = tid
	}
	return tid <= m.current
}

// switchTo starts a new source at a keyframe: picture id and TL0PICIDX
// continue from the last ones sent.
func (m *VP8Munger) switchTo(d *codec.VP8Descriptor, source uint8) VP8Out {
	m.pidMod = 1 << 15
	if d.HasPictureID && !d.PictureID15 {
		m.pidMod = 1 << 7
	}
	in := int64(d.PictureID)
	out := in
	if m.started {
		out = m.lastOut + 1
	}
	if d.HasTL0PICIDX {
		tl0 := d.TL0PICIDX
		if m.started && m.haveTL0 {
			tl0 = m.lastOutTL0 + 1
		}
		m.tl0Delta = tl0 - d.TL0PICIDX
		m.lastOutTL0 = tl0
		m.haveTL0 = true
	}
	m.started = true
	m.source = source
	m.highestIn, m.floorIn = in, in
	m.delta = out - in
	m.lastOut = out
	m.current = m.target // a keyframe: every layer can follow
	clear(m.frames[:])
	*m.frame(in) = vp8Frame{in: in, out: out, delta: m.delta, forward: true, valid: d.HasPictureID}
	return VP8Out{PictureID: m.pid(out), TL0PICIDX: m.tl0(d)}
}

// frame returns the ring slot of an extended picture id.
func (m *VP8Munger) frame(ext int64) *vp8Frame {
	return &m.frames[uint64(ext)%vp8FrameRingSize]
}

// extend places a picture id of the current source on the extended axis.
func (m *VP8Munger) extend(pid uint16) int64 {
	half := m.pidMod / 2
	diff := (int64(pid) - m.highestIn) % m.pidMod
	if diff < 0 {
		diff += m.pidMod
	}
	if diff >= half {
		diff -= m.pidMod
	}
	return m.highestIn + diff
}

func (m *VP8Munger) pid(ext int64) uint16 {
	return uint16(ext & (1<<15 - 1))
}

func (m *VP8Munger) tl0(d *codec.VP8Descriptor) uint8 {
	return d.TL0PICIDX + m.tl0Delta
}
