package codec

// H.265 NAL unit types (RFC 7798 section 4.4 and ITU-T H.265 table 7-1).
const (
	h265IRAPFirst = 16 // BLA_W_LP
	h265IRAPLast  = 21 // CRA_NUT
	h265VPS       = 32
	h265SPS       = 33
	h265AP        = 48
	h265FU        = 49
)

func h265Type(nalHeader0 byte) byte { return (nalHeader0 >> 1) & 0x3f }

func h265StartsPicture(t byte) bool {
	return (t >= h265IRAPFirst && t <= h265IRAPLast) || t == h265VPS || t == h265SPS
}

// h265KeyframeStart assumes sprop-max-don-diff=0 (no DONL/DOND fields), as
// every WebRTC sender does.
func h265KeyframeStart(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	switch t := h265Type(p[0]); t {
	case h265AP:
		for i := 2; i+2 < len(p); {
			n := int(p[i])<<8 | int(p[i+1])
			i += 2
			if n == 0 {
				break
			}
			if h265StartsPicture(h265Type(p[i])) {
				return true
			}
			i += n
		}
		return false
	case h265FU:
		return len(p) >= 3 && p[2]&0x80 != 0 && h265StartsPicture(p[2]&0x3f)
	default:
		return h265StartsPicture(t)
	}
}
