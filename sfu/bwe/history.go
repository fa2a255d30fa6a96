package bwe

// historySize is the number of send records kept: a power of two, and more
// than a few seconds of packets at the highest rates we send to one
// subscriber (2,000 packets/s), so that late feedback still finds its
// packets.
const historySize = 1 << 13

type sentPacket struct {
	sendNs int64
	size   int32
	probe  int32 // probe cluster id, 0 when none
	seq    uint16
	valid  bool
	acked  bool // already reported by an earlier feedback
}

// sendHistory is a fixed ring of send records indexed by transport-wide
// sequence number. Adding never allocates.
type sendHistory struct {
	slots [historySize]sentPacket
}

func (h *sendHistory) add(seq uint16, sendNs int64, size int, probe int32) {
	h.slots[int(seq)&(historySize-1)] = sentPacket{
		sendNs: sendNs, size: int32(size), probe: probe, seq: seq, valid: true, //nolint:gosec // sizes are < 64 KiB
	}
}

func (h *sendHistory) get(seq uint16) *sentPacket {
	p := &h.slots[int(seq)&(historySize-1)]
	if !p.valid || p.seq != seq {
		return nil
	}
	return p
}
