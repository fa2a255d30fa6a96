package codec

// AV1 aggregation header bits (AV1 RTP specification section 4.4).
const (
	av1Z = 0x80 // first OBU element continues one from the previous packet
	av1N = 0x08 // first packet of a coded video sequence
)

const av1OBUSequenceHeader = 1

func av1KeyframeStart(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	agg := p[0]
	if agg&av1Z != 0 {
		return false
	}
	if agg&av1N != 0 {
		return true
	}
	// Fallback for senders that do not set N: the packet opens with a
	// sequence header OBU.
	i := 1
	if w := (agg >> 4) & 0x03; w != 1 {
		// The first element is preceded by its LEB128 length unless W
		// says the packet holds exactly one element.
		n, ok := leb128Len(p[i:])
		if !ok {
			return false
		}
		i += n
	}
	if len(p) <= i {
		return false
	}
	return (p[i]>>3)&0x0f == av1OBUSequenceHeader
}

// leb128Len returns the length in bytes of the LEB128 number at the start of
// b (at most 8 bytes, as AV1 allows).
func leb128Len(b []byte) (int, bool) {
	for i := 0; i < len(b) && i < 8; i++ {
		if b[i]&0x80 == 0 {
			return i + 1, true
		}
	}
	return 0, false
}
