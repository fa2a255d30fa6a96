// Package codec holds what the SFU needs to know about each codec, working on
// raw RTP payload bytes without allocating: whether a packet starts a
// keyframe, the VP8 payload descriptor (parsed and rewritten in place),
// H.264 parameter sets and fmtp parameters, and the RFC 6464 audio level.
//
// Resolve the MIME type once per track with FromMime and call the methods of
// Codec per packet; the string-taking helpers are for convenience.
package codec

import "strings"

// Codec identifies a codec the SFU forwards.
type Codec uint8

// Codecs known to the package. Unknown is the zero value.
const (
	Unknown Codec = iota
	VP8
	VP9
	H264
	H265
	AV1
	Opus
)

var mimeTypes = [...]struct {
	mime  string
	codec Codec
}{
	{"video/VP8", VP8},
	{"video/VP9", VP9},
	{"video/H264", H264},
	{"video/H265", H265},
	{"video/HEVC", H265},
	{"video/AV1", AV1},
	{"audio/opus", Opus},
}

// FromMime maps a MIME type such as pion's webrtc.MimeTypeVP8 ("video/VP8")
// to a Codec, ignoring case. It does not allocate.
func FromMime(mime string) Codec {
	for _, m := range mimeTypes {
		if strings.EqualFold(m.mime, mime) {
			return m.codec
		}
	}
	return Unknown
}

// String returns the codec's usual name.
func (c Codec) String() string {
	switch c {
	case VP8:
		return "VP8"
	case VP9:
		return "VP9"
	case H264:
		return "H264"
	case H265:
		return "H265"
	case AV1:
		return "AV1"
	case Opus:
		return "opus"
	default:
		return "unknown"
	}
}

// IsVideo reports whether c is a video codec.
func (c Codec) IsVideo() bool { return c >= VP8 && c <= AV1 }

// KeyframeStart reports whether an RTP payload of codec c begins a keyframe,
// i.e. whether a decoder that has seen nothing before can start from this
// packet. It is true only for the first packet of a keyframe where the codec
// lets one tell:
//
//   - VP8: S=1, partition 0, and the P bit of the VP8 frame header is 0.
//   - VP9: B=1 (start of frame), P=0, spatial layer 0, and, when the
//     uncompressed header is in the packet, frame_type KEY_FRAME.
//   - H.264: a packet carrying an SPS (7) or IDR slice (5) as a single NAL
//     unit, inside a STAP-A, or as the start fragment of an FU-A. An
//     encoder sending SPS, PPS and IDR in separate packets yields true for
//     the SPS packet and the IDR start: the earliest one (lowest sequence
//     number of that timestamp) is the keyframe's start.
//   - H.265: the same with IRAP pictures (NAL types 16–21) and VPS (32) /
//     SPS (33), single, in an aggregation packet (48) or starting a
//     fragmentation unit (49).
//   - AV1: the N bit of the aggregation header (first packet of a new coded
//     video sequence), or, for senders that do not set it, a packet whose
//     first OBU is a sequence header.
//
// Audio and unknown codecs return false: for them every packet is a start.
func (c Codec) KeyframeStart(payload []byte) bool {
	switch c {
	case VP8:
		return vp8KeyframeStart(payload)
	case VP9:
		return vp9KeyframeStart(payload)
	case H264:
		return h264KeyframeStart(payload)
	case H265:
		return h265KeyframeStart(payload)
	case AV1:
		return av1KeyframeStart(payload)
	default:
		return false
	}
}

// Keyframe is FromMime(mime).KeyframeStart(payload).
func Keyframe(mime string, payload []byte) bool {
	return FromMime(mime).KeyframeStart(payload)
}
