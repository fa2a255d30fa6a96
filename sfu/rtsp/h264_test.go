package rtsp

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/classcast/classcast/sfu/track"
)

var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb}
	testPPS = []byte{0x68, 0xcb, 0x83, 0xcb, 0x20}
	testIDR = []byte{0x65, 0x88, 0x84, 0x00}
	testP   = []byte{0x41, 0x9a, 0x02}
)

func fuaStart(typ byte) []byte { return []byte{0x7c, 0x80 | typ, 0xaa, 0xbb} }

func stapA(nals ...[]byte) []byte {
	b := []byte{0x78}
	for _, n := range nals {
		b = append(b, byte(len(n)>>8), byte(len(n)))
		b = append(b, n...)
	}
	return b
}

type step struct {
	ts      uint32
	payload []byte
	// wantPre: payloads expected before this packet
	wantPre [][]byte
}

func runSteps(t *testing.T, h *h264ParamSets, steps []step) {
	t.Helper()
	seq := uint16(65530) // crosses the wrap
	var outSeq []uint16
	for i, s := range steps {
		pkt := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: s.ts, Marker: true}, Payload: s.payload}
		seq++
		pre := h.fix(pkt)
		if len(pre) != len(s.wantPre) {
			t.Fatalf("step %d: %d packets before, want %d", i, len(pre), len(s.wantPre))
		}
		for j, p := range pre {
			if !bytes.Equal(p.Payload, s.wantPre[j]) || p.Marker || p.Timestamp != s.ts {
				t.Fatalf("step %d: injected %x (marker %v ts %d)", i, p.Payload, p.Marker, p.Timestamp)
			}
			outSeq = append(outSeq, p.SequenceNumber)
		}
		outSeq = append(outSeq, pkt.SequenceNumber)
	}
	for i := 1; i < len(outSeq); i++ {
		if outSeq[i] != outSeq[i-1]+1 {
			t.Fatalf("sequence not contiguous: %v", outSeq)
		}
	}
}

func TestH264ParamSetsFromSDP(t *testing.T) {
	h := newH264ParamSets(1, testSPS, testPPS)
	runSteps(t, h, []step{
		{ts: 0, payload: testIDR, wantPre: [][]byte{stapA(testSPS, testPPS)}},
		{ts: 0, payload: testIDR}, // second slice of the same IDR
		{ts: 3000, payload: testP},
		{ts: 6000, payload: fuaStart(5), wantPre: [][]byte{stapA(testSPS, testPPS)}},
		{ts: 9000, payload: stapA(testSPS, testPPS, testIDR)}, // carries its own
		{ts: 12000, payload: testSPS},
		{ts: 12000, payload: testPPS},
		{ts: 12000, payload: testIDR}, // in-band before it: nothing added
		{ts: 15000, payload: fuaStart(1)},
	})
	if h.injected.Load() != 2 {
		t.Fatalf("injected %d", h.injected.Load())
	}
}

func TestH264ParamSetsFromStreamAndMode0(t *testing.T) {
	newSPS := append([]byte(nil), testSPS...)
	newSPS[3] = 0x1f
	h := newH264ParamSets(0, nil, nil)
	runSteps(t, h, []step{
		{ts: 0, payload: testIDR}, // nothing known yet: cannot help
		{ts: 1, payload: newSPS},
		{ts: 1, payload: testPPS},
		{ts: 1, payload: testIDR},
		{ts: 2, payload: testIDR, wantPre: [][]byte{newSPS, testPPS}}, // mode 0: single NALs
	})
}

// FuzzH264ParamSets: any payload sequence is handled without panics, and
// sequence numbers stay contiguous.
func FuzzH264ParamSets(f *testing.F) {
	f.Add(testIDR, stapA(testSPS, testPPS, testIDR), fuaStart(5), uint8(1))
	f.Add([]byte{0x78, 0xff, 0xff}, []byte{0x7c}, []byte{}, uint8(0))
	f.Add(stapA(testSPS), stapA(testPPS), testIDR, uint8(1))
	f.Fuzz(func(t *testing.T, a, b, c []byte, mode uint8) {
		h := newH264ParamSets(int(mode%2), nil, nil)
		var last uint16
		for i, p := range [][]byte{a, b, c, a, c} {
			pkt := &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i / 2)}, Payload: p}
			for _, pre := range h.fix(pkt) {
				if i > 0 && pre.SequenceNumber != last+1 {
					t.Fatal("gap before injected packet")
				}
				last = pre.SequenceNumber
			}
			if i > 0 && pkt.SequenceNumber != last+1 {
				t.Fatal("gap")
			}
			last = pkt.SequenceNumber
		}
	})
}

type nopProducer struct{}

func (nopProducer) WriteRTP(int, *rtp.Packet) error { return nil }
func (nopProducer) OnKeyframeRequest(func(int))     {}
func (nopProducer) Close()                          {}

var _ track.Producer = nopProducer{}

// BenchmarkIngestH264 is the per-packet ingest path: parameter-set fixing,
// continuity rewriting and the hand-off to the producer. 0 allocs/op.
func BenchmarkIngestH264(b *testing.B) {
	desc, raw, err := parseSDP([]byte(sdpFFmpegH264Opus))
	if err != nil {
		b.Fatal(err)
	}
	plan, err := planTracks(desc, raw, true)
	if err != nil {
		b.Fatal(err)
	}
	p := newTrackPipe(nopProducer{}, plan.tracks[0], timeNowForBench)
	p.started, p.rebased = true, true // exercise the rewriting path too
	payloads := [][]byte{fuaStart(5), make([]byte, 1200), testP, testP}
	pkt := &rtp.Packet{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		pkt.Header = rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i/4) * 3000, SSRC: 1}
		pkt.Payload = payloads[i%4]
		if err := p.write(pkt); err != nil {
			b.Fatal(err)
		}
	}
}

var benchNow = time.Unix(1700000000, 0)

func timeNowForBench() time.Time { return benchNow }
