package media

import "encoding/binary"

// VP8Info describes one VP8 RTP payload (RFC 7741). It is returned by value so inspecting a packet
// allocates nothing.
type VP8Info struct {
	// HeaderLen is the payload descriptor's length; the VP8 bitstream starts at payload[HeaderLen].
	HeaderLen int
	// PictureID is the 7- or 15-bit picture id, -1 when absent.
	PictureID int
	// FrameStart is true on the first packet of a frame (S=1, partition 0).
	FrameStart bool
	// Keyframe is true on the first packet of a keyframe.
	Keyframe bool
	// Width and Height come from a keyframe's header (scaling bits stripped); zero otherwise.
	Width, Height int
}

// InspectVP8 parses a VP8 RTP payload descriptor and, on the first packet of a frame, the frame header.
func InspectVP8(payload []byte) (VP8Info, error) {
	info := VP8Info{PictureID: -1}
	if len(payload) < 1 {
		return info, ErrShortPacket
	}
	b0 := payload[0]
	n := 1
	if b0&0x80 != 0 { // X: extension byte present
		if len(payload) < 2 {
			return info, ErrShortPacket
		}
		ext := payload[1]
		n = 2
		if ext&0x80 != 0 { // I: picture id
			if len(payload) < n+1 {
				return info, ErrShortPacket
			}
			if payload[n]&0x80 != 0 {
				if len(payload) < n+2 {
					return info, ErrShortPacket
				}
				info.PictureID = int(binary.BigEndian.Uint16(payload[n:]) & 0x7fff)
				n += 2
			} else {
				info.PictureID = int(payload[n] & 0x7f)
				n++
			}
		}
		if ext&0x40 != 0 { // L: TL0PICIDX
			n++
		}
		if ext&0x30 != 0 { // T or K: TID/Y/KEYIDX byte
			n++
		}
	}
	if len(payload) < n {
		return info, ErrShortPacket
	}
	info.HeaderLen = n
	info.FrameStart = b0&0x10 != 0 && b0&0x07 == 0
	if !info.FrameStart || len(payload) == n {
		return info, nil
	}
	frame := payload[n:]
	if frame[0]&0x01 != 0 { // P bit set: interframe
		return info, nil
	}
	info.Keyframe = true
	if len(frame) >= 10 && frame[3] == 0x9d && frame[4] == 0x01 && frame[5] == 0x2a {
		info.Width = int(binary.LittleEndian.Uint16(frame[6:]) & 0x3fff)
		info.Height = int(binary.LittleEndian.Uint16(frame[8:]) & 0x3fff)
	}
	return info, nil
}

// H.264 NAL unit types the inspector cares about.
const (
	h264NALIDR   = 5
	h264NALSPS   = 7
	h264NALSTAPA = 24
	h264NALFUA   = 28
)

// H264Keyframe reports whether an H.264 RTP payload (RFC 6184) starts or carries an IDR picture or an
// SPS: single NAL units, STAP-A aggregates and the first fragment of an FU-A.
func H264Keyframe(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	switch typ := payload[0] & 0x1f; typ {
	case h264NALIDR, h264NALSPS:
		return true
	case h264NALSTAPA:
		for p := payload[1:]; len(p) > 2; {
			size := int(binary.BigEndian.Uint16(p))
			if size == 0 || len(p) < 2+size {
				return false
			}
			if t := p[2] & 0x1f; t == h264NALIDR || t == h264NALSPS {
				return true
			}
			p = p[2+size:]
		}
		return false
	case h264NALFUA:
		if len(payload) < 2 {
			return false
		}
		start := payload[1]&0x80 != 0
		t := payload[1] & 0x1f
		return start && (t == h264NALIDR || t == h264NALSPS)
	default:
		return false
	}
}
