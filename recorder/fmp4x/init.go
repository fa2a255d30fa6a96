// Package fmp4x holds the fragmented-MP4 pieces mediacommon does not cover:
// init segments for VP8 and G.711, and a light scanner of the fragments a
// file holds (used by recovery, HLS playlists and clip cutting).
package fmp4x

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"
)

// Codec names a stored codec. The values match the lowercase tail of the
// WebRTC mime type ("video/H264" → CodecH264).
type Codec string

// Codecs the recorder stores without transcoding.
const (
	CodecH264 Codec = "h264"
	CodecVP8  Codec = "vp8"
	CodecVP9  Codec = "vp9"
	CodecOpus Codec = "opus"
	CodecPCMU Codec = "pcmu"
	CodecPCMA Codec = "pcma"
)

// IsVideo tells video codecs from audio ones.
func (c Codec) IsVideo() bool { return c == CodecH264 || c == CodecVP8 || c == CodecVP9 }

// TimeScale is the track time scale: the RTP clock rate, so RTP timestamp
// differences are stored as they are.
func (c Codec) TimeScale() uint32 {
	switch c {
	case CodecOpus:
		return 48000
	case CodecPCMU, CodecPCMA:
		return 8000
	default:
		return 90000
	}
}

// TrackParams are what an init segment needs to describe one track.
type TrackParams struct {
	Codec    Codec
	SPS, PPS []byte // H.264
	Width    int    // VP8/VP9
	Height   int
	Channels int // audio
}

// BuildInit returns an init segment (ftyp+moov) holding one track with ID 1.
//
// H.264, VP9 and Opus go through mediacommon unchanged. mediacommon has no
// VP8 or G.711 sample entry, and its Codec interface is sealed, so those are
// built from a sibling and retyped: a vp08 entry has exactly the layout of a
// vp09 one (same vpcC record, per the VP codec ISO-BMFF binding), and a
// ulaw/alaw entry is a plain 8-bit AudioSampleEntry like ipcm, whose pcmC
// child is turned into a 'free' box that readers skip.
func BuildInit(p TrackParams) ([]byte, error) {
	var codec mp4.Codec
	var retype string
	switch p.Codec {
	case CodecH264:
		codec = &mp4.CodecH264{SPS: p.SPS, PPS: p.PPS}
	case CodecVP9, CodecVP8:
		codec = &mp4.CodecVP9{Width: p.Width, Height: p.Height, BitDepth: 8, ChromaSubsampling: 1}
		if p.Codec == CodecVP8 {
			retype = "vp08"
		}
	case CodecOpus:
		codec = &mp4.CodecOpus{ChannelCount: max(p.Channels, 1)}
	case CodecPCMU, CodecPCMA:
		codec = &mp4.CodecLPCM{BitDepth: 8, SampleRate: 8000, ChannelCount: max(p.Channels, 1)}
		retype = map[Codec]string{CodecPCMU: "ulaw", CodecPCMA: "alaw"}[p.Codec]
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedCodec, p.Codec)
	}
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{{ID: 1, TimeScale: p.Codec.TimeScale(), Codec: codec}}}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return nil, fmt.Errorf("fmp4x: marshal init: %w", err)
	}
	out := buf.Bytes()
	if retype != "" {
		if err := retypeSampleEntry(out, retype); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// retypeSampleEntry renames the first sample entry of the first stsd and
// turns a pcmC child into 'free'.
func retypeSampleEntry(b []byte, fourcc string) error {
	stsd := findBox(b, "moov", "trak", "mdia", "minf", "stbl", "stsd")
	if stsd < 0 || stsd+24 > len(b) {
		return fmt.Errorf("%w: no stsd", ErrBadBox)
	}
	entry := stsd + 16 // header 8, version/flags 4, entry count 4
	copy(b[entry+4:entry+8], fourcc)
	size := int(binary.BigEndian.Uint32(b[entry:]))
	if i := bytes.Index(b[entry:entry+size], []byte("pcmC")); i >= 4 {
		copy(b[entry+i:], "free")
	}
	return nil
}

// findBox follows a path of container boxes and returns the offset of the
// last one's header, or -1.
func findBox(b []byte, path ...string) int {
	start, end := 0, len(b)
	off := -1
	for depth, name := range path {
		off = -1
		for p := start; p+8 <= end; {
			size := int(binary.BigEndian.Uint32(b[p:]))
			if size < 8 || p+size > end {
				return -1
			}
			if string(b[p+4:p+8]) == name {
				off = p
				start, end = p+8, p+size
				if name == "stsd" && depth == len(path)-1 {
					return off
				}
				break
			}
			p += size
		}
		if off < 0 {
			return -1
		}
	}
	return off
}
