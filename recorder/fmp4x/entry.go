package fmp4x

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Entry is what the first sample entry of an init segment says about its
// track: enough to describe the track in another container.
type Entry struct {
	FourCC        string // "vp08", "vp09", "avc1", "Opus", ...
	Width, Height int    // video
	Channels      int    // audio
	// VPConfig is the body of a vpcC box after its version and flags
	// (profile, level, bit depth/chroma/range byte, ...), when present.
	VPConfig []byte
	// OpusPreSkip is the dOps pre-skip, in 48 kHz samples (Opus only).
	OpusPreSkip uint16
}

// ParseEntry reads the first sample entry of the init segment (ftyp+moov).
func ParseEntry(init []byte) (Entry, error) {
	var e Entry
	stsd := findBox(init, "moov", "trak", "mdia", "minf", "stbl", "stsd")
	if stsd < 0 || stsd+24 > len(init) {
		return e, fmt.Errorf("%w: no stsd", ErrBadBox)
	}
	at := stsd + 16 // header 8, version/flags 4, entry count 4
	size := int(binary.BigEndian.Uint32(init[at:]))
	if size < 36 || at+size > len(init) {
		return e, fmt.Errorf("%w: sample entry", ErrBadBox)
	}
	entry := init[at : at+size]
	e.FourCC = string(entry[4:8])
	if size >= 86 && e.FourCC != "Opus" && e.FourCC != "ulaw" && e.FourCC != "alaw" {
		// VisualSampleEntry: width and height follow 16 reserved bytes.
		e.Width = int(binary.BigEndian.Uint16(entry[32:]))
		e.Height = int(binary.BigEndian.Uint16(entry[34:]))
		if body := childBox(entry[86:], "vpcC"); len(body) > 4 {
			e.VPConfig = body[4:]
		}
		return e, nil
	}
	// AudioSampleEntry: channel count after 16 bytes of header and reserved.
	e.Channels = int(binary.BigEndian.Uint16(entry[24:]))
	if body := childBox(entry[36:], "dOps"); len(body) >= 4 {
		e.Channels = int(body[1])
		e.OpusPreSkip = binary.BigEndian.Uint16(body[2:])
	}
	return e, nil
}

// childBox returns the body of the first box of type typ among the boxes
// of b, or nil.
func childBox(b []byte, typ string) []byte {
	for p := 0; p+8 <= len(b); {
		size := int(binary.BigEndian.Uint32(b[p:]))
		if size < 8 || p+size > len(b) {
			return nil
		}
		if bytes.Equal(b[p+4:p+8], []byte(typ)) {
			return b[p+8 : p+size]
		}
		p += size
	}
	return nil
}

// VPCodecString is the codecs parameter of a vp08/vp09 entry as the VP
// codec ISO-BMFF binding defines it ("vp08.00.10.08": profile, level, bit
// depth), falling back on profile 0, level 1.0, 8 bits without a vpcC.
func (e Entry) VPCodecString() string {
	profile, level, depth := byte(0), byte(10), byte(8)
	if len(e.VPConfig) >= 3 {
		profile, level, depth = e.VPConfig[0], e.VPConfig[1], e.VPConfig[2]>>4
	}
	return fmt.Sprintf("%s.%02d.%02d.%02d", e.FourCC, profile, level, depth)
}
