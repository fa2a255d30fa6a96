package codec

// VP9 payload descriptor bits (RFC 9628 section 4.2), first byte.
const (
	vp9I = 0x80 // picture id present
	vp9P = 0x40 // inter-picture predicted
	vp9L = 0x20 // layer indices present
	vp9F = 0x10 // flexible mode
	vp9B = 0x08 // start of a frame
	vp9V = 0x02 // scalability structure present
)

// vp9KeyframeStart: a frame start, not inter-picture predicted, on spatial
// layer 0; when the VP9 uncompressed header is in reach, its frame_type
// must also say KEY_FRAME (P=0 alone also matches intra-only frames).
func vp9KeyframeStart(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	b := p[0]
	if b&vp9P != 0 || b&vp9B == 0 {
		return false
	}
	i := 1
	if b&vp9I != 0 {
		if len(p) <= i {
			return false
		}
		if p[i]&0x80 != 0 {
			i += 2
		} else {
			i++
		}
	}
	if b&vp9L != 0 {
		if len(p) <= i {
			return false
		}
		if sid := (p[i] >> 1) & 0x07; sid != 0 {
			return false
		}
		i++
		if b&vp9F == 0 {
			i++ // TL0PICIDX
		}
	}
	// With P=0 there are no reference indices (P_DIFF) in flexible mode.
	if b&vp9V != 0 {
		var ok bool
		if i, ok = skipVP9ScalabilityStructure(p, i); !ok {
			return false
		}
	}
	if len(p) <= i {
		return true // the frame header is not in reach: trust P and B
	}
	return vp9HeaderIsKeyframe(p[i:])
}

// skipVP9ScalabilityStructure returns the index after the SS at p[i].
func skipVP9ScalabilityStructure(p []byte, i int) (int, bool) {
	if len(p) <= i {
		return i, false
	}
	ss := p[i]
	i++
	spatialLayers := int(ss>>5) + 1
	if ss&0x10 != 0 { // Y: resolutions
		i += 4 * spatialLayers
	}
	if ss&0x08 != 0 { // G: picture group description
		if len(p) <= i {
			return i, false
		}
		groups := int(p[i])
		i++
		for range groups {
			if len(p) <= i {
				return i, false
			}
			refs := int(p[i]>>2) & 0x03
			i += 1 + refs
		}
	}
	return i, i <= len(p)
}

// vp9HeaderIsKeyframe reads the start of the VP9 uncompressed header:
// frame_marker(2) profile_low_bit(1) profile_high_bit(1)
// [reserved_zero(1) if profile 3] show_existing_frame(1) frame_type(1).
func vp9HeaderIsKeyframe(h []byte) bool {
	if len(h) < 1 {
		return false
	}
	b := h[0]
	if b>>6 != 0x2 {
		return false // not a frame marker
	}
	bit := 2
	profile := (b>>5)&1 | (b>>4)&1<<1
	bit += 2
	if profile == 3 {
		bit++
	}
	if b>>(7-bit)&1 != 0 {
		return false // show_existing_frame
	}
	bit++
	return b>>(7-bit)&1 == 0 // frame_type 0 is KEY_FRAME
}
