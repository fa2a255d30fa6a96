package codec

import (
	"fmt"
	"strconv"
	"strings"
)

// H.264 NAL unit types (RFC 6184 section 5.4).
const (
	h264TypeIDR   = 5
	h264TypeSPS   = 7
	h264TypePPS   = 8
	h264TypeSTAPA = 24
	h264TypeFUA   = 28
	h264TypeFUB   = 29
)

// h264Seen records which NAL unit types of interest a packet carries.
type h264Seen struct{ idr, sps, pps bool }

func (s *h264Seen) note(nalType byte) {
	switch nalType {
	case h264TypeIDR:
		s.idr = true
	case h264TypeSPS:
		s.sps = true
	case h264TypePPS:
		s.pps = true
	}
}

// h264Scan looks at a single NAL unit, into every unit of a STAP-A, and at
// the type of a starting FU-A/FU-B fragment (later fragments say nothing
// about the start of a picture).
func h264Scan(p []byte) h264Seen {
	var s h264Seen
	if len(p) < 1 {
		return s
	}
	t := p[0] & 0x1f
	switch {
	case t >= 1 && t <= 23:
		s.note(t)
	case t == h264TypeSTAPA:
		for i := 1; i+2 < len(p); {
			n := int(p[i])<<8 | int(p[i+1])
			i += 2
			if n == 0 {
				break
			}
			s.note(p[i] & 0x1f)
			i += n
		}
	case t == h264TypeFUA || t == h264TypeFUB:
		if len(p) >= 2 && p[1]&0x80 != 0 {
			s.note(p[1] & 0x1f)
		}
	}
	return s
}

func h264KeyframeStart(p []byte) bool {
	s := h264Scan(p)
	return s.idr || s.sps
}

// H264ParameterSets reports whether an H.264 RTP payload carries a sequence
// parameter set and a picture parameter set (single NAL unit, STAP-A, or the
// start of a fragmented one). A subscriber that joins on an IDR needs both.
func H264ParameterSets(payload []byte) (sps, pps bool) {
	s := h264Scan(payload)
	return s.sps, s.pps
}

// H264Params are the H.264 fmtp parameters of RFC 6184 section 8.1 that
// matter when matching a publisher's codec to a subscriber's.
type H264Params struct {
	HasProfileLevelID bool
	ProfileIDC        uint8 // e.g. 0x42 constrained baseline, 0x4d main, 0x64 high
	ProfileIOP        uint8 // constraint flags, e.g. 0xe0
	LevelIDC          uint8 // e.g. 0x1f for level 3.1

	// PacketizationMode is 0 (single NAL unit) or 1 (non-interleaved);
	// it defaults to 0 when absent, as the RFC says.
	PacketizationMode     uint8
	LevelAsymmetryAllowed bool
}

// ParseH264Fmtp parses an SDP fmtp parameter string such as
// "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".
// Unknown parameters are ignored. It is for the control path.
func ParseH264Fmtp(line string) (H264Params, error) {
	var p H264Params
	for part := range strings.SplitSeq(line, ";") {
		key, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		key = strings.ToLower(strings.TrimSpace(key))
		value = strings.TrimSpace(value)
		switch key {
		case "profile-level-id":
			v, err := strconv.ParseUint(value, 16, 32)
			if err != nil || len(value) != 6 {
				return p, fmtpError(key, value)
			}
			p.HasProfileLevelID = true
			p.ProfileIDC, p.ProfileIOP, p.LevelIDC = uint8(v>>16), uint8(v>>8), uint8(v)
		case "packetization-mode":
			v, err := strconv.ParseUint(value, 10, 8)
			if err != nil || v > 2 {
				return p, fmtpError(key, value)
			}
			p.PacketizationMode = uint8(v)
		case "level-asymmetry-allowed":
			p.LevelAsymmetryAllowed = value == "1"
		}
	}
	return p, nil
}

func fmtpError(key, value string) error {
	return fmt.Errorf("%w: %s=%q", ErrInvalidFmtp, key, value)
}
