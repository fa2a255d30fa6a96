package cascade

import "encoding/binary"

// NACK payload (media-plane kind nack, child → parent):
//
//	bytes 0-1  track number
//	byte 2     layer
//	byte 3     count, 1..maxNackSeqs
//	then       count RTP sequence numbers, 2 bytes each, big endian
//
// NACKs ride the media plane rather than the control stream because the
// stream is congestion-controlled and head-of-line blocked: at 10 % loss a
// NACK queued behind a lost stream frame waits a retransmission timeout,
// and the packet it asks for is late by the time it comes back.
const (
	nackHeaderLen = 4
	maxNackSeqs   = 255
	maxNackLen    = nackHeaderLen + 2*maxNackSeqs
)

// putNack writes a NACK for up to maxNackSeqs of seqs into b (len(b) >=
// maxNackLen) and returns its length and how many seqs it took.
func putNack(b []byte, num uint16, layer uint8, seqs []uint16) (n, took int) {
	took = min(len(seqs), maxNackSeqs)
	binary.BigEndian.PutUint16(b[0:2], num)
	b[2] = layer
	b[3] = byte(took)
	for i, s := range seqs[:took] {
		binary.BigEndian.PutUint16(b[nackHeaderLen+2*i:], s)
	}
	return nackHeaderLen + 2*took, took
}

// parseNack validates a NACK payload; seqs stays a view of b (read them
// with nackSeq) so parsing allocates nothing.
func parseNack(b []byte) (num uint16, layer uint8, count int, ok bool) {
	if len(b) < nackHeaderLen {
		return 0, 0, 0, false
	}
	count = int(b[3])
	if count == 0 || len(b) != nackHeaderLen+2*count {
		return 0, 0, 0, false
	}
	return binary.BigEndian.Uint16(b[0:2]), b[2], count, true
}

// nackSeq is the i-th sequence number of a payload parseNack accepted.
func nackSeq(b []byte, i int) uint16 {
	return binary.BigEndian.Uint16(b[nackHeaderLen+2*i:])
}
