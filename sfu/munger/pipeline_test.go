package munger

import (
	"testing"

	"github.com/classcast/classcast/sfu/codec"
)

// layer simulates one simulcast layer of a Chromium VP8 publisher: frames in
// the TID 0,2,1,2 pattern, several packets per frame, its own SSRC spaces.
type layer struct {
	seq uint16
	ts  uint32
	pid uint16
	tl0 uint8
	k   int
}

// frame returns the packets (payloads with seq) of the next frame.
func (l *layer) frame(packets int) []pkt {
	tid := tidPattern[l.k%4]
	if tid == 0 && l.k > 0 {
		l.tl0++
	}
	var out []pkt
	for i := range packets {
		b0 := byte(0x80)
		if i == 0 {
			b0 |= 0x10 // S
		}
		y := byte(0)
		if l.k%4 == 1 {
			y = 0x20
		}
		payload := []byte{b0, 0xe0, 0x80 | byte(l.pid>>8), byte(l.pid), l.tl0, tid<<6 | y, 0x31, 0xaa}
		out = append(out, pkt{seq: l.seq, ts: l.ts, marker: i == packets-1, payload: payload})
		l.seq++
	}
	l.ts += 3000
	l.pid = (l.pid + 1) & 0x7fff
	l.k++
	return out
}

type pkt struct {
	seq     uint16
	ts      uint32
	marker  bool
	payload []byte
}

// subscriber is the SFU-side pipeline for one subscriber, as the core is
// expected to run it.
type subscriber struct {
	m   *Munger
	vp8 *VP8Munger
	buf []byte
}

// send runs one packet through the pipeline; ok means it was written.
func (s *subscriber) send(t *testing.T, p pkt, source uint8, sw bool, now int64) (Out, codec.VP8Descriptor, bool) {
	t.Helper()
	d, err := codec.ParseVP8(p.payload)
	if err != nil {
		t.Fatal(err)
	}
	v, act := s.vp8.Munge(&d, source, sw)
	switch act {
	case VP8Drop:
		s.m.Drop(p.seq)
		return Out{}, d, false
	case VP8Refuse:
		return Out{}, d, false
	}
	out, ok := s.m.Rewrite(In{Seq: p.seq, TS: p.ts, Marker: p.marker, ArrivalNanos: now, ClockRate: videoHz, Source: source, Switch: sw})
	if !ok {
		return Out{}, d, false
	}
	s.buf = append(s.buf[:0], p.payload...) // never rewrite the shared bytes
	if err := codec.RewriteVP8(s.buf, v.PictureID, v.TL0PICIDX); err != nil {
		t.Fatal(err)
	}
	sent, _ := codec.ParseVP8(s.buf)
	return out, sent, true
}

// TestPipelineLayerSwitchesAndTemporalDrops runs three layers through the
// full per-subscriber pipeline while switching layers at keyframes and
// changing the temporal layer, with one packet of every fifth frame
// reordered. What the subscriber receives must be one stream: contiguous
// sequence numbers (once reordering is undone), picture ids +1 per frame,
// TL0PICIDX +1 per TL0 frame.
func TestPipelineLayerSwitchesAndTemporalDrops(t *testing.T) {
	layers := []*layer{
		{seq: 0xfff0, ts: 0xffff0000, pid: 0x7ff0, tl0: 250},
		{seq: 100, ts: 5, pid: 3, tl0: 0},
		{seq: 40000, ts: 0x80000000, pid: 0x4000, tl0: 128},
	}
	s := &subscriber{m: New(), vp8: NewVP8()}
	cur := 0
	now := int64(0)
	sentSeqs := map[uint16]bool{}
	var lastPID uint16
	var lastTL0 uint8
	first := true
	for k := range 400 {
		sw := k == 0
		if k > 0 && k%40 == 0 { // a keyframe (TL0) on every layer
			cur = (cur + 1) % len(layers)
			sw = true
		}
		if k%50 == 10 {
			s.vp8.SetMaxTemporalLayer(uint8(k/50) % 3)
		}
		var packets []pkt
		for i, l := range layers {
			f := l.frame(3)
			if i == cur {
				packets = f
			}
		}
		if k%5 == 2 {
			packets[1], packets[2] = packets[2], packets[1]
		}
		frameSent := false
		for i, p := range packets {
			out, d, ok := s.send(t, p, uint8(cur), sw && i == 0, now)
			if !ok {
				continue
			}
			if sentSeqs[out.Seq] {
				t.Fatalf("k %d: output seq %d sent twice", k, out.Seq)
			}
			sentSeqs[out.Seq] = true
			if frameSent || !d.Start {
				continue
			}
			frameSent = true
			if !first && d.PictureID != (lastPID+1)&0x7fff {
				t.Fatalf("k %d: picture id %d after %d", k, d.PictureID, lastPID)
			}
			if !first && d.TID == 0 && d.TL0PICIDX != lastTL0+1 {
				t.Fatalf("k %d: TL0PICIDX %d after %d", k, d.TL0PICIDX, lastTL0)
			}
			lastPID, lastTL0, first = d.PictureID, d.TL0PICIDX, false
		}
		now += frameDur
	}
	// Contiguous: every output sequence number between the first and the
	// last was sent.
	last, _, _ := s.m.Last()
	for seq := last.Seq - uint16(len(sentSeqs)) + 1; seq != last.Seq+1; seq++ {
		if !sentSeqs[seq] {
			t.Fatalf("output seq %d missing (gap)", seq)
		}
	}
}
