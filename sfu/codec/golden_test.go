package codec

// Hand-built packets shaped like what real senders put on the wire.

// VP8 frame tags: keyframe (P=0, show_frame, with the 9d 01 2a start code
// and 640x360) and interframe (P=1).
var (
	vp8KeyTag   = []byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}
	vp8DeltaTag = []byte{0x31, 0x07, 0x00, 0x11, 0x22}
)

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Chromium VP8 with temporal layers: X=1 S=1 PID=0; I L T set; 15-bit
// picture id 0x1234; TL0PICIDX 0x56; TID 0, Y=1.
var (
	chromeVP8Key = cat([]byte{0x90, 0xe0, 0x80 | 0x12, 0x34, 0x56, 0x00<<6 | 0x20}, vp8KeyTag)
	// TID 2 non-reference delta frame, picture id 0x7fff (about to wrap).
	chromeVP8TL2 = cat([]byte{0xb0, 0xe0, 0xff, 0xff, 0x57, 0x02 << 6}, vp8DeltaTag)
	// Continuation packet (S=0) of a keyframe: not a keyframe start.
	chromeVP8Cont = cat([]byte{0x80, 0xe0, 0x92, 0x34, 0x56, 0x20}, []byte{0xaa, 0xbb, 0xcc})
	// Old-style sender: 7-bit picture id 0x45, no TL0PICIDX/TID.
	vp8Short = cat([]byte{0x90, 0x80, 0x45}, vp8KeyTag)
	// No extension at all.
	vp8Bare = cat([]byte{0x10}, vp8DeltaTag)
)

// H.264 constrained baseline 42e01f.
var (
	h264SPSNal = []byte{0x67, 0x42, 0xe0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xec, 0x04, 0x40}
	h264PPSNal = []byte{0x68, 0xce, 0x3c, 0x80}
	h264IDRNal = []byte{0x65, 0x88, 0x84, 0x00, 0x33, 0xff}
	h264PNal   = []byte{0x41, 0x9a, 0x02, 0x03}

	// STAP-A carrying SPS, PPS and a small IDR slice.
	h264STAPA = cat([]byte{0x78},
		[]byte{0x00, byte(len(h264SPSNal))}, h264SPSNal,
		[]byte{0x00, byte(len(h264PPSNal))}, h264PPSNal,
		[]byte{0x00, byte(len(h264IDRNal))}, h264IDRNal)
	// STAP-A carrying SPS and PPS only (the IDR follows in an FU-A).
	h264STAPAParams = cat([]byte{0x78},
		[]byte{0x00, byte(len(h264SPSNal))}, h264SPSNal,
		[]byte{0x00, byte(len(h264PPSNal))}, h264PPSNal)
	// FU-A of an IDR slice: indicator 0x7c (NRI 3, type 28), header S/E.
	h264FUAStart  = []byte{0x7c, 0x85, 0x88, 0x84, 0x00}
	h264FUAMiddle = []byte{0x7c, 0x05, 0x11, 0x22}
	h264FUAEnd    = []byte{0x7c, 0x45, 0x33, 0x44}
	// FU-A start of a non-IDR slice.
	h264FUAStartP = []byte{0x5c, 0x81, 0x9a, 0x02}
)

// H.265 (two-byte NAL headers: type<<1, then layer/TID 0x01).
var (
	h265IDR     = []byte{19 << 1, 0x01, 0xaf, 0x00}
	h265CRA     = []byte{21 << 1, 0x01, 0xaf, 0x00}
	h265Trail   = []byte{1 << 1, 0x01, 0xd0, 0x00}
	h265VPSNal  = []byte{32 << 1, 0x01, 0x0c, 0x01}
	h265PPSNal  = []byte{34 << 1, 0x01, 0xc1, 0x72}
	h265APKey   = cat([]byte{48 << 1, 0x01}, []byte{0x00, 4}, h265PPSNal, []byte{0x00, 4}, h265VPSNal)
	h265APDelta = cat([]byte{48 << 1, 0x01}, []byte{0x00, 4}, h265PPSNal, []byte{0x00, 4}, h265Trail)
	h265FUStart = []byte{49 << 1, 0x01, 0x80 | 19, 0xaf}
	h265FUMid   = []byte{49 << 1, 0x01, 19, 0x11}
	h265FUTrail = []byte{49 << 1, 0x01, 0x80 | 1, 0xd0}
)

// AV1 aggregation headers: N=1 W=2; Z=1 continuation; a sequence header
// OBU (type 1, has_size 0) as the only element (W=1) with N unset; a frame
// OBU (type 6) with a LEB128 length (W=0).
var (
	av1NewSequence = []byte{0x28, 0x0a, 0x0b, 0x00, 0x00, 0x00}
	av1Continue    = []byte{0x98, 0x11, 0x22}
	av1SeqHeaderW1 = []byte{0x10, 0x08, 0x00, 0x00}
	av1FrameW0     = []byte{0x00, 0x05, 0x32, 0x10, 0x00, 0x00, 0x00}
	av1TwoByteLen  = []byte{0x00, 0x81, 0x01, 0x08, 0x00}
)

// VP9 (flexible mode as Chromium sends): I=1 (15-bit id), B=1, and a
// keyframe header (frame marker 2, profile 0, show_existing 0, type 0).
var (
	vp9Key          = []byte{0x88 | 0x02, 0x80, 0x01, 0x00 /* SS: 1 layer, no Y/G */, 0x82, 0x49, 0x83}
	vp9Delta        = []byte{0xc8, 0x80, 0x02, 0x01 << 1, 0x86, 0x00}
	vp9IntraOnly    = []byte{0x88, 0x80, 0x03, 0x84, 0x00} // P=0 but frame_type=1
	vp9KeySpatial1  = []byte{0xa8, 0x80, 0x01, 0x02, 0x82} // L: SID 1
	vp9KeyNoHeader  = []byte{0x88, 0x80, 0x01}
	vp9NotStart     = []byte{0x84, 0x80, 0x01, 0x82}
	vp9Profile3Key  = []byte{0x88, 0x80, 0x01, 0xb0}
	vp9ShowExisting = []byte{0x88, 0x80, 0x01, 0x88}
)
