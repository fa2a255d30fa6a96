package trackwriter

import (
	"bytes"
	"encoding/binary"
)

// h264Depack turns RTP (RFC 6184: single NAL unit, STAP-A, FU-A) into
// access units in AVCC form (4-byte lengths), reusing its buffers. It is
// written here rather than taken from gortsplib's rtph264 because that one
// may complete a frame on a timestamp change (and then the frame's
// timestamp is not the packet's), returns Annex-B-free NALU slices that
// would need another copy into AVCC, and allocates per frame.
type h264Depack struct {
	au       []byte
	ts       uint32
	sync     bool
	fuStart  int // offset of the length prefix of the FU-A NALU in progress; -1 if none
	sps, pps []byte
	newParam bool // SPS or PPS differ from the ones last reported
}

func newH264Depack() *h264Depack {
	return &h264Depack{au: make([]byte, 0, 256<<10), fuStart: -1}
}

func (d *h264Depack) reset() {
	d.au, d.sync, d.fuStart = d.au[:0], false, -1
}

// push consumes one packet; emit is called with each completed frame.
func (d *h264Depack) push(s *slot, emit func(frame)) {
	if len(d.au) > 0 && s.ts != d.ts {
		d.complete(emit) // the publisher did not set the marker bit
	}
	d.ts = s.ts
	p := s.payload()
	if len(p) < 1 {
		return
	}
	switch typ := p[0] & 0x1f; {
	case typ >= 1 && typ <= 23:
		d.addNALU(p)
	case typ == 24: // STAP-A
		for q := p[1:]; len(q) >= 2; {
			n := int(binary.BigEndian.Uint16(q))
			if n == 0 || len(q) < 2+n {
				break
			}
			d.addNALU(q[2 : 2+n])
			q = q[2+n:]
		}
	case typ == 28: // FU-A
		d.pushFU(p)
	}
	if s.marker {
		d.complete(emit)
	}
}

func (d *h264Depack) pushFU(p []byte) {
	if len(p) < 2 {
		return
	}
	start, end := p[1]&0x80 != 0, p[1]&0x40 != 0
	if start {
		d.fuStart = len(d.au)
		d.au = append(d.au, 0, 0, 0, 0, p[0]&0xe0|p[1]&0x1f)
	} else if d.fuStart < 0 {
		return // middle of a NALU whose start was lost
	}
	d.au = append(d.au, p[2:]...)
	if end {
		nalu := d.au[d.fuStart+4:]
		binary.BigEndian.PutUint32(d.au[d.fuStart:], uint32(len(nalu)))
		d.fuStart = -1
		if nalu[0]&0x1f == 5 {
			d.sync = true
		}
	}
}

func (d *h264Depack) addNALU(n []byte) {
	switch n[0] & 0x1f {
	case 7:
		if !bytes.Equal(n, d.sps) {
			d.sps, d.newParam = append(d.sps[:0], n...), true
		}
		return // parameter sets live in the sample entry
	case 8:
		if !bytes.Equal(n, d.pps) {
			d.pps, d.newParam = append(d.pps[:0], n...), true
		}
		return
	case 9:
		return // access unit delimiter
	case 5:
		d.sync = true
	}
	d.au = binary.BigEndian.AppendUint32(d.au, uint32(len(n)))
	d.au = append(d.au, n...)
}

func (d *h264Depack) complete(emit func(frame)) {
	if d.fuStart >= 0 { // frame ends inside a fragmented NALU: drop the torn NALU
		d.au = d.au[:d.fuStart]
		d.fuStart = -1
	}
	if len(d.au) > 0 {
		emit(frame{ts: d.ts, data: d.au, sync: d.sync})
	}
	d.au, d.sync = d.au[:0], false
}
