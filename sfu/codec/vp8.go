package codec

// VP8Descriptor is the VP8 RTP payload descriptor (RFC 7741 section 4.2)
// plus what the first bytes of the VP8 payload tell.
type VP8Descriptor struct {
	Extended     bool  // X: the extension byte is present
	NonReference bool  // N: no other frame references this one
	Start        bool  // S: first packet of a partition
	PartitionID  uint8 // 0–7

	HasPictureID bool // I
	// PictureID15 is the M bit: the picture id is 15 bits wide rather
	// than 7. Chromium always sends the 15-bit form.
	PictureID15 bool
	PictureID   uint16

	HasTL0PICIDX bool // L
	TL0PICIDX    uint8

	HasTID    bool  // T
	TID       uint8 // temporal layer, 0–3; 0 when !HasTID
	LayerSync bool  // Y: depends only on TL0 frames; valid when HasTID

	HasKeyIdx bool  // K
	KeyIdx    uint8 // 0–31

	// HeaderSize is the length of the descriptor: the VP8 payload starts
	// at payload[HeaderSize].
	HeaderSize int
	// Keyframe is true on the first packet of a keyframe: S=1,
	// PartitionID=0 and the P bit of the VP8 frame tag is 0.
	Keyframe bool
}

// VP8 payload descriptor bits.
const (
	vp8X = 0x80
	vp8N = 0x20
	vp8S = 0x10
	vp8I = 0x80
	vp8L = 0x40
	vp8T = 0x20
	vp8K = 0x10
	vp8M = 0x80
)

// ParseVP8 parses the payload descriptor at the start of a VP8 RTP payload.
func ParseVP8(payload []byte) (VP8Descriptor, error) {
	var d VP8Descriptor
	if len(payload) < 1 {
		return d, errVP8Truncated
	}
	b := payload[0]
	d.Extended = b&vp8X != 0
	d.NonReference = b&vp8N != 0
	d.Start = b&vp8S != 0
	d.PartitionID = b & 0x07
	i := 1
	if d.Extended {
		if len(payload) <= i {
			return d, errVP8Truncated
		}
		x := payload[i]
		i++
		d.HasPictureID = x&vp8I != 0
		d.HasTL0PICIDX = x&vp8L != 0
		d.HasTID = x&vp8T != 0
		d.HasKeyIdx = x&vp8K != 0
		var err error
		if i, err = d.parseExtension(payload, i); err != nil {
			return d, err
		}
	}
	d.HeaderSize = i
	d.Keyframe = d.Start && d.PartitionID == 0 && len(payload) > i && payload[i]&0x01 == 0
	return d, nil
}

// parseExtension reads the optional fields announced by the extension byte,
// starting at payload[i], and returns the index after them.
func (d *VP8Descriptor) parseExtension(payload []byte, i int) (int, error) {
	if d.HasPictureID {
		if len(payload) <= i {
			return i, errVP8Truncated
		}
		if payload[i]&vp8M != 0 {
			if len(payload) <= i+1 {
				return i, errVP8Truncated
			}
			d.PictureID15 = true
			d.PictureID = uint16(payload[i]&0x7f)<<8 | uint16(payload[i+1])
			i += 2
		} else {
			d.PictureID = uint16(payload[i] & 0x7f)
			i++
		}
	}
	if d.HasTL0PICIDX {
		if len(payload) <= i {
			return i, errVP8Truncated
		}
		d.TL0PICIDX = payload[i]
		i++
	}
	if d.HasTID || d.HasKeyIdx {
		if len(payload) <= i {
			return i, errVP8Truncated
		}
		t := payload[i]
		i++
		if d.HasTID {
			d.TID = t >> 6
			d.LayerSync = t&0x20 != 0
		}
		if d.HasKeyIdx {
			d.KeyIdx = t & 0x1f
		}
	}
	return i, nil
}

// pictureIDOffset and tl0Offset locate the fields in a parsed payload.
func (d *VP8Descriptor) pictureIDOffset() int { return 2 }

func (d *VP8Descriptor) tl0Offset() int {
	switch {
	case !d.HasPictureID:
		return 2
	case d.PictureID15:
		return 4
	default:
		return 3
	}
}

// RewriteVP8 overwrites, in place, the picture id and TL0PICIDX of a VP8
// payload, each only if the descriptor carries it. The picture id keeps the
// width it was sent with: a 7-bit id is written modulo 128, a 15-bit one
// modulo 32768. Only the 15-bit form matters in practice (Chromium always
// sends it); the 7-bit form wraps so fast that receivers cannot use it to
// detect lost frames anyway.
func RewriteVP8(payload []byte, pictureID uint16, tl0picidx uint8) error {
	d, err := ParseVP8(payload)
	if err != nil {
		return err
	}
	if d.HasPictureID {
		o := d.pictureIDOffset()
		if d.PictureID15 {
			payload[o] = vp8M | byte(pictureID>>8)&0x7f
			payload[o+1] = byte(pictureID)
		} else {
			payload[o] = byte(pictureID) & 0x7f
		}
	}
	if d.HasTL0PICIDX {
		payload[d.tl0Offset()] = tl0picidx
	}
	return nil
}

func vp8KeyframeStart(payload []byte) bool {
	d, err := ParseVP8(payload)
	return err == nil && d.Keyframe
}
