package bwe

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// fuzzSeeds are the RTCP compounds of the table tests, marshalled.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	var arr []arrival
	for i := range 40 {
		if i%5 == 2 {
			continue
		}
		arr = append(arr, arrival{uint16(65520 + i), base.Add(time.Duration(i*i) * 300 * time.Microsecond)})
	}
	for _, fb := range wireFeedback(t, arr) {
		raw, _ := fb.Marshal()
		seeds = append(seeds, raw)
	}
	for _, p := range []rtcp.Packet{
		&rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 1, Bitrate: 500_000, SSRCs: []uint32{2}},
		&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 2, FractionLost: 64}}},
	} {
		raw, _ := p.Marshal()
		seeds = append(seeds, raw)
	}
	return seeds
}

// FuzzOnRTCP feeds arbitrary RTCP to an estimator that has sent packets:
// it must never panic, and the estimate must stay within its bounds.
func FuzzOnRTCP(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		pkts, err := rtcp.Unmarshal(raw)
		if err != nil {
			return
		}
		e := New(quietConfig())
		for i := range 64 {
			e.OnPacketSent(uint16(65520+i), 1200, base.Add(time.Duration(i)*time.Millisecond))
		}
		for i := range 3 {
			_ = e.OnRTCP(pkts, base.Add(time.Duration(100+i*50)*time.Millisecond))
		}
		if est := e.Estimate(); est < 30_000 || est > 10_000_000 {
			t.Fatalf("estimate %d out of bounds", est)
		}
	})
}
