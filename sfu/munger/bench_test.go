package munger

import (
	"testing"

	"github.com/classcast/classcast/sfu/codec"
)

func BenchmarkRewrite(b *testing.B) {
	m := New()
	b.ReportAllocs()
	var seq uint16
	for b.Loop() {
		seq++
		m.Rewrite(In{Seq: seq, TS: uint32(seq) * 3000, ClockRate: videoHz})
	}
}

// BenchmarkRewriteLate maps packets that are behind the newest one through
// a history full of drop ranges (the slowest lookup).
func BenchmarkRewriteLate(b *testing.B) {
	m := New()
	m.Rewrite(In{Seq: 0})
	for k := uint16(1); k < 2*maxRanges; k += 2 {
		m.Drop(k)
		m.Rewrite(In{Seq: k + 1})
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Rewrite(In{Seq: 4})
	}
}

func BenchmarkDrop(b *testing.B) {
	m := New()
	m.Rewrite(In{Seq: 0})
	b.ReportAllocs()
	var seq uint16
	for b.Loop() {
		seq++
		if seq%3 == 0 {
			m.Drop(seq)
		} else {
			m.Rewrite(In{Seq: seq})
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	m := New()
	for k := range 2048 {
		m.Rewrite(In{Seq: uint16(k)})
	}
	b.ReportAllocs()
	var k uint16
	for b.Loop() {
		k++
		m.Lookup(2047 - k%2000) // half from the ring, half computed
	}
}

func BenchmarkVP8Munge(b *testing.B) {
	v := NewVP8()
	v.SetMaxTemporalLayer(1)
	src := &vp8Source{pid: 0x7f00}
	descs := make([]codec.VP8Descriptor, 256)
	for i := range descs {
		descs[i] = src.next()
	}
	b.ReportAllocs()
	var i int
	for b.Loop() {
		d := &descs[i%len(descs)]
		i++
		v.Munge(d, 0, i%len(descs) == 1)
	}
}

// BenchmarkPipeline is the whole per-subscriber work for one VP8 packet:
// parse the descriptor, decide, rewrite seq/ts, copy and rewrite the
// picture id in the subscriber's own buffer.
func BenchmarkPipeline(b *testing.B) {
	l := &layer{seq: 0xff00, ts: 0xfffff000, pid: 0x7ff0}
	var packets []pkt
	for range 64 {
		packets = append(packets, l.frame(3)...)
	}
	m, v := New(), NewVP8()
	v.SetMaxTemporalLayer(1)
	buf := make([]byte, 1500)
	b.ReportAllocs()
	var i int
	for b.Loop() {
		p := &packets[i%len(packets)]
		i++
		d, err := codec.ParseVP8(p.payload)
		if err != nil {
			b.Fatal(err)
		}
		sw := i%len(packets) == 1
		out, act := v.Munge(&d, 0, sw)
		if act == VP8Drop {
			m.Drop(p.seq)
			continue
		}
		if act != VP8Forward {
			continue
		}
		if _, ok := m.Rewrite(In{Seq: p.seq, TS: p.ts, ClockRate: videoHz, Switch: sw}); !ok {
			continue
		}
		n := copy(buf, p.payload)
		_ = codec.RewriteVP8(buf[:n], out.PictureID, out.TL0PICIDX)
	}
}
