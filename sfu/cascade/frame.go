package cascade

import (
	"encoding/binary"

	"github.com/pion/rtp"
)

// Media frame, the plaintext of one media-plane packet (seal.go):
//
//	byte 0     version (high 2 bits, = 1) | flags (bit 0: retransmission)
//	bytes 1-2  track number, big endian, assigned by the parent in "subscribed"
//	byte 3     layer (simulcast spatial layer, 0 for non-simulcast)
//	bytes 4-   the RTP packet, unchanged from the publisher's layer stream
const (
	frameHeaderLen = 4
	frameVersion   = 1 << 6
	frameVerMask   = 0xc0
	flagRTX        = 1 << 0
	// maxFrameLen bounds one frame: what is left of quic-go's 1452-byte read
	// buffer after the media-plane header and tag (RTP packets ≤ 1419 bytes).
	maxFrameLen = maxPlainLen
)

// putFrameHeader writes the 4-byte header into b (len(b) >= 4).
func putFrameHeader(b []byte, num uint16, layer uint8, rtx bool) {
	b[0] = frameVersion
	if rtx {
		b[0] |= flagRTX
	}
	binary.BigEndian.PutUint16(b[1:3], num)
	b[3] = layer
}

// marshalFrame writes header + RTP header + payload into b and returns the
// frame length, or 0 if it does not fit. It does not allocate.
func marshalFrame(b []byte, num uint16, layer uint8, h *rtp.Header, payload []byte) int {
	hl := h.MarshalSize()
	n := frameHeaderLen + hl + len(payload)
	if n > len(b) {
		return 0
	}
	putFrameHeader(b, num, layer, false)
	if _, err := h.MarshalTo(b[frameHeaderLen:]); err != nil {
		return 0
	}
	copy(b[frameHeaderLen+hl:], payload)
	return n
}

// parseFrame splits a decrypted payload into its header fields and RTP packet.
func parseFrame(b []byte) (num uint16, layer uint8, rtx bool, pkt []byte, err error) {
	if len(b) < frameHeaderLen+12 || b[0]&frameVerMask != frameVersion {
		return 0, 0, false, nil, ErrBadFrame
	}
	return binary.BigEndian.Uint16(b[1:3]), b[3], b[0]&flagRTX != 0, b[frameHeaderLen:], nil
}

// rtpSeq reads the sequence number of a raw RTP packet (len >= 12).
func rtpSeq(pkt []byte) uint16 { return binary.BigEndian.Uint16(pkt[2:4]) }
