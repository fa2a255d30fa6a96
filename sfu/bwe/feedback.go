package bwe

import (
	"fmt"

	"github.com/pion/rtcp"
)

// packetResult is one packet reported by a feedback, joined with its send
// record.
type packetResult struct {
	sendNs    int64
	arrivalNs int64 // receiver clock; only differences mean anything
	size      int
	probe     int32
	received  bool
}

const referenceTimeUnitNs = 64_000_000 // TWCC reference time ticks are 64 ms

// feedbackParser turns TWCC feedback into packetResults, reusing its buffer.
type feedbackParser struct {
	results []packetResult

	haveRef bool
	lastRef int64 // unwrapped 24-bit reference time of the previous feedback
}

// parse reads fb against the send history. Packets the history does not know
// (too old, never recorded) and packets already reported are skipped.
func (p *feedbackParser) parse(fb *rtcp.TransportLayerCC, h *sendHistory) ([]packetResult, error) {
	p.results = p.results[:0]
	ref := int64(fb.ReferenceTime & 0xffffff)
	if p.haveRef {
		// Unwrap the 24-bit counter to the value nearest the previous one.
		delta := (ref-p.lastRef+(1<<23))&0xffffff - (1 << 23)
		ref = p.lastRef + delta
	}
	p.haveRef, p.lastRef = true, ref
	arrival := ref * referenceTimeUnitNs
	seq := fb.BaseSequenceNumber
	remaining := int(fb.PacketStatusCount)
	deltas := fb.RecvDeltas
	next := func(symbol uint16) error {
		received := symbol == rtcp.TypeTCCPacketReceivedSmallDelta || symbol == rtcp.TypeTCCPacketReceivedLargeDelta
		if received {
			if len(deltas) == 0 {
				return fmt.Errorf("%w: more received packets than deltas", ErrInvalidFeedback)
			}
			arrival += deltas[0].Delta * 1000
			deltas = deltas[1:]
		}
		if sp := h.get(seq); sp != nil && (!sp.acked || !received) {
			if received {
				sp.acked = true
			}
			p.results = append(p.results, packetResult{
				sendNs: sp.sendNs, arrivalNs: arrival, size: int(sp.size), probe: sp.probe, received: received,
			})
		}
		seq++
		remaining--
		return nil
	}
	for _, chunk := range fb.PacketChunks {
		if remaining <= 0 {
			break
		}
		switch c := chunk.(type) {
		case *rtcp.RunLengthChunk:
			for range min(int(c.RunLength), remaining) {
				if err := next(c.PacketStatusSymbol); err != nil {
					return nil, err
				}
			}
		case *rtcp.StatusVectorChunk:
			for _, sym := range c.SymbolList[:min(len(c.SymbolList), remaining)] {
				if c.SymbolSize == rtcp.TypeTCCSymbolSizeOneBit && sym == 1 {
					sym = rtcp.TypeTCCPacketReceivedSmallDelta
				}
				if err := next(sym); err != nil {
					return nil, err
				}
			}
		}
	}
	return p.results, nil
}
