package rtsp

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"

	"github.com/pion/rtp"
)

// H.264 NAL unit types this file looks at (RFC 6184).
const (
	naluIDR   = 5
	naluSPS   = 7
	naluPPS   = 8
	naluSTAPA = 24
	naluFUA   = 28
)

// maxParamSetSize bounds cached SPS/PPS; real ones are tens of bytes.
const maxParamSetSize = 512

// h264ParamSets makes every H.264 keyframe self-contained: many RTSP cameras
// (and ffmpeg) send SPS/PPS only in the SDP or only once, but a WebRTC
// subscriber that joins later needs them in-band before the IDR it starts
// from. It caches SPS/PPS from sprop-parameter-sets and from the stream, and
// when an IDR starts an access unit that did not carry them, it emits them
// first (one STAP-A, or two single NAL packets in packetization-mode 0).
//
// Injected packets shift later sequence numbers, so every packet's sequence
// number is rewritten by the running offset. Nothing is allocated per packet;
// the cache is copied only when a parameter set changes.
type h264ParamSets struct {
	singleNAL bool // packetization-mode=0: STAP-A not allowed

	sps, pps []byte
	stapA    []byte // SPS+PPS as one STAP-A payload, rebuilt on change

	seqOffset uint16
	auTS      uint32
	haveTS    bool
	auHasSPS  bool
	auHasPPS  bool

	pre  [2]rtp.Packet
	outs [2]*rtp.Packet
	// injected counts access units that needed the parameter sets added.
	injected atomic.Uint64
}

func newH264ParamSets(packetizationMode int, sps, pps []byte) *h264ParamSets {
	h := &h264ParamSets{singleNAL: packetizationMode == 0}
	h.setSPS(sps)
	h.setPPS(pps)
	return h
}

// fix inspects pkt, rewrites its sequence number, and returns the packets to
// send before it (nil when none). The returned packets are owned by h and
// valid until the next call.
func (h *h264ParamSets) fix(pkt *rtp.Packet) []*rtp.Packet {
	if !h.haveTS || pkt.Timestamp != h.auTS {
		h.auTS, h.haveTS = pkt.Timestamp, true
		h.auHasSPS, h.auHasPPS = false, false
	}
	idr := h.scan(pkt.Payload)
	var out []*rtp.Packet
	if idr && !(h.auHasSPS && h.auHasPPS) && h.sps != nil && h.pps != nil {
		out = h.inject(pkt)
	}
	pkt.SequenceNumber += h.seqOffset
	return out
}

// scan caches parameter sets found in payload and reports whether it starts
// an IDR slice.
func (h *h264ParamSets) scan(payload []byte) bool {
	if len(payload) == 0 {
		return false
	}
	switch typ := payload[0] & 0x1f; typ {
	case naluIDR:
		return true
	case naluSPS, naluPPS:
		h.saw(payload)
	case naluSTAPA:
		idr := false
		for p := payload[1:]; len(p) >= 2; {
			n := int(binary.BigEndian.Uint16(p))
			p = p[2:]
			if n == 0 || n > len(p) {
				break // malformed aggregate: keep what was parsed
			}
			nal := p[:n]
			p = p[n:]
			if nal[0]&0x1f == naluIDR {
				idr = true
			} else {
				h.saw(nal)
			}
		}
		return idr
	case naluFUA:
		// start bit set and the fragmented unit is an IDR
		return len(payload) >= 2 && payload[1]&0x80 != 0 && payload[1]&0x1f == naluIDR
	}
	return false
}

func (h *h264ParamSets) saw(nal []byte) {
	switch nal[0] & 0x1f {
	case naluSPS:
		h.auHasSPS = true
		h.setSPS(nal)
	case naluPPS:
		h.auHasPPS = true
		h.setPPS(nal)
	}
}

func (h *h264ParamSets) setSPS(nal []byte) {
	if len(nal) == 0 || len(nal) > maxParamSetSize || bytes.Equal(nal, h.sps) {
		return
	}
	h.sps = append(h.sps[:0], nal...)
	h.rebuild()
}

func (h *h264ParamSets) setPPS(nal []byte) {
	if len(nal) == 0 || len(nal) > maxParamSetSize || bytes.Equal(nal, h.pps) {
		return
	}
	h.pps = append(h.pps[:0], nal...)
	h.rebuild()
}

func (h *h264ParamSets) rebuild() {
	if h.sps == nil || h.pps == nil || h.singleNAL {
		return
	}
	// STAP-A header: F and NRI from the SPS (the highest), type 24.
	b := h.stapA[:0]
	b = append(b, h.sps[0]&0xe0|naluSTAPA)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.sps)))
	b = append(b, h.sps...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.pps)))
	b = append(b, h.pps...)
	h.stapA = b
}

func (h *h264ParamSets) inject(pkt *rtp.Packet) []*rtp.Packet {
	h.injected.Add(1)
	h.auHasSPS, h.auHasPPS = true, true
	n := 0
	add := func(payload []byte) {
		p := &h.pre[n]
		p.Header = pkt.Header
		p.Header.Marker = false
		p.Header.Padding = false
		p.PaddingSize = 0
		p.SequenceNumber = pkt.SequenceNumber + h.seqOffset
		p.Payload = payload
		h.seqOffset++
		h.outs[n] = p
		n++
	}
	if h.singleNAL {
		add(h.sps)
		add(h.pps)
	} else {
		add(h.stapA)
	}
	return h.outs[:n]
}
