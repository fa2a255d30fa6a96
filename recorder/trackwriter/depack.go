package trackwriter

import (
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtpvp8"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtpvp9"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/vp9"
	"github.com/pion/rtp"

	"github.com/classcast/classcast/recorder/fmp4x"
)

// frame is one complete access unit. data is only valid during the emit call.
type frame struct {
	ts            uint32
	data          []byte
	sync          bool
	width, height int // VP8/VP9 keyframes
}

type depacketizer interface {
	push(s *slot, emit func(frame))
	reset()
}

func newDepacketizer(c fmp4x.Codec) (depacketizer, error) {
	switch c {
	case fmp4x.CodecH264:
		return newH264Depack(), nil
	case fmp4x.CodecVP8:
		d := &vpxDepack{vp8: &rtpvp8.Decoder{}}
		return d, d.vp8.Init()
	case fmp4x.CodecVP9:
		d := &vpxDepack{vp9: &rtpvp9.Decoder{}}
		return d, d.vp9.Init()
	case fmp4x.CodecOpus, fmp4x.CodecPCMU, fmp4x.CodecPCMA:
		return audioDepack{}, nil
	}
	return nil, ErrUnsupportedCodec
}

// audioDepack: Opus and G.711 carry one frame per packet.
type audioDepack struct{}

func (audioDepack) push(s *slot, emit func(frame)) {
	if s.n > 0 {
		emit(frame{ts: s.ts, data: s.payload(), sync: true})
	}
}
func (audioDepack) reset() {}

// vpxDepack uses gortsplib's VP8/VP9 depacketizers: they complete a frame
// only on the marker bit, so the frame timestamp is the packet's.
type vpxDepack struct {
	vp8 *rtpvp8.Decoder
	vp9 *rtpvp9.Decoder
	pkt rtp.Packet
}

func (d *vpxDepack) push(s *slot, emit func(frame)) {
	d.pkt.SequenceNumber, d.pkt.Timestamp, d.pkt.Marker = s.seq, s.ts, s.marker
	d.pkt.Payload = s.payload()
	var data []byte
	var err error
	if d.vp8 != nil {
		data, err = d.vp8.Decode(&d.pkt)
	} else {
		data, err = d.vp9.Decode(&d.pkt)
	}
	if err != nil || len(data) == 0 {
		return
	}
	f := frame{ts: s.ts, data: data}
	if d.vp8 != nil {
		f.sync, f.width, f.height = vp8Keyframe(data)
	} else {
		var h vp9.Header
		if h.Unmarshal(data) == nil && !h.ShowExistingFrame && !h.NonKeyFrame {
			f.sync, f.width, f.height = true, h.Width(), h.Height()
		}
	}
	emit(f)
}

func (d *vpxDepack) reset() {
	if d.vp8 != nil {
		d.vp8 = &rtpvp8.Decoder{}
	} else {
		d.vp9 = &rtpvp9.Decoder{}
	}
}

// vp8Keyframe reads the frame tag and, for a keyframe, its dimensions
// (RFC 6386 §9.1).
func vp8Keyframe(b []byte) (bool, int, int) {
	if len(b) < 10 || b[0]&1 != 0 || b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
		return false, 0, 0
	}
	w := int(b[6]) | int(b[7]&0x3f)<<8
	h := int(b[8]) | int(b[9]&0x3f)<<8
	return true, w, h
}
