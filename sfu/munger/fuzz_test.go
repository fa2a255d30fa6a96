package munger

import (
	"testing"

	"github.com/classcast/classcast/sfu/codec"
)

type inKey struct {
	epoch int
	in    uint16
}

// FuzzMunger drives a Munger with a script and checks its promises: a
// packet maps to the same output every time within an epoch (one run of a
// source between switches), no two packets share an output, a switch
// continues right after the last output, and Lookup finds what was sent.
//
// Script: 2 bytes of start seq, then 3-byte ops (kind, delta, arg): kind%4
// 0,1 rewrite seq last+int8(delta); 2 drop it; 3 switch to source arg%3
// at seq last+int16(delta<<8|arg), arriving arg ms later.
func FuzzMunger(f *testing.F) {
	for _, tc := range dropCases {
		script := []byte{0xff, 0xfe}
		prev := uint16(0)
		for _, o := range tc.ops {
			kind := byte(0)
			if o.drop {
				kind = 2
			}
			script = append(script, kind, byte(int8(o.in-prev)), 0)
			prev = o.in
		}
		f.Add(script)
	}
	f.Add([]byte{0x00, 0x01, 0, 1, 0, 3, 0x40, 5, 0, 1, 0, 2, 1, 0, 0, 0xfe, 0, 3, 0x80, 200, 0, 1, 0})
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) < 2 || len(script) > 2+3*300 {
			return
		}
		m := New()
		seq := uint16(script[0])<<8 | uint16(script[1])
		source, epoch := uint8(0), 0
		now := int64(0)
		byIn := map[inKey]uint16{}
		byOut := map[uint16]inKey{}
		started := false
		for ops := script[2:]; len(ops) >= 3; ops = ops[3:] {
			kind, delta, arg := ops[0]%4, ops[1], ops[2]
			now += int64(arg) * ms
			p := In{ArrivalNanos: now, ClockRate: videoHz, Source: source}
			switch kind {
			case 2:
				seq += uint16(int16(int8(delta)))
				m.Drop(seq)
				continue
			case 3:
				source = arg % 3
				seq += uint16(int16(delta)<<8 | int16(arg))
				epoch++
				p.Switch, p.Source = true, source
			default:
				seq += uint16(int16(int8(delta)))
			}
			p.Seq, p.TS = seq, uint32(seq)*3000
			before, _, _ := m.Last()
			out, ok := m.Rewrite(p)
			if !ok {
				if p.Switch || !started {
					t.Fatal("switch refused")
				}
				continue
			}
			if p.Switch && started && (out.Seq != before.Seq+1 || int32(out.TS-before.TS) < 1) {
				t.Fatalf("switch to %+v after %+v", out, before)
			}
			started = true
			k := inKey{epoch, seq}
			if prev, seen := byIn[k]; seen && prev != out.Seq {
				t.Fatalf("%+v mapped to %d, earlier %d", k, out.Seq, prev)
			}
			if other, used := byOut[out.Seq]; used && other != k {
				t.Fatalf("output %d used by %+v and %+v", out.Seq, other, k)
			}
			byIn[k], byOut[out.Seq] = out.Seq, k
			if in, src, ok := m.Lookup(out.Seq); !ok || in != seq || src != source {
				t.Fatalf("Lookup(%d) = %d, %d, %v", out.Seq, in, src, ok)
			}
		}
	})
}

// FuzzVP8Munger checks the same promises for picture ids: one output id per
// frame within an epoch, no output id shared by two frames, and a switch
// continuing right after the last id sent.
//
// Script: 3-byte ops (delta, flags, arg): picture id += int8(delta); flags
// bits 0-1 TID, bit 2 Y, bit 3 switch (to source arg%3, id += arg<<7),
// bit 4 set max temporal layer to arg%4.
func FuzzVP8Munger(f *testing.F) {
	f.Add([]byte{0, 0x08, 0, 1, 0x02, 0, 1, 0x01, 0, 1, 0x02, 0, 1, 0x00, 0})
	f.Add([]byte{0, 0x08, 5, 1, 0x12, 0, 1, 0x01, 0, 0xff, 0x02, 0, 2, 0x05, 0, 1, 0x00, 0, 1, 0x0a, 9})
	f.Add([]byte{0, 0x18, 1, 1, 0x06, 0, 1, 0x02, 0, 1, 0x11, 2, 1, 0x05, 0, 3, 0x00, 0})
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) > 3*200 {
			return
		}
		v := NewVP8()
		pid := uint16(0x7ff0)
		source, epoch := uint8(0), 0
		byIn := map[inKey]uint16{}
		byOut := map[uint16]inKey{}
		var lastOut uint16
		started := false
		for ops := script; len(ops) >= 3; ops = ops[3:] {
			delta, flags, arg := ops[0], ops[1], ops[2]
			if flags&0x10 != 0 {
				v.SetMaxTemporalLayer(arg % 4)
			}
			pid = (pid + uint16(int16(int8(delta)))) & 0x7fff
			sw := flags&0x08 != 0 || !started
			if sw {
				source = arg % 3
				pid = (pid + uint16(arg)<<7) & 0x7fff
				epoch++
			}
			d := codec.VP8Descriptor{Extended: true, HasPictureID: true, PictureID15: true, PictureID: pid,
				HasTID: true, TID: flags & 3, LayerSync: flags&4 != 0}
			out, act := v.Munge(&d, source, sw)
			if sw && act != VP8Forward {
				t.Fatal("switch not forwarded")
			}
			if act != VP8Forward {
				continue
			}
			if sw && started && out.PictureID != (lastOut+1)&0x7fff {
				t.Fatalf("switch to id %d after %d", out.PictureID, lastOut)
			}
			started = true
			k := inKey{epoch, pid}
			if prev, seen := byIn[k]; seen && prev != out.PictureID {
				t.Fatalf("frame %+v got %d, earlier %d", k, out.PictureID, prev)
			}
			if other, used := byOut[out.PictureID]; used && other != k {
				t.Fatalf("id %d given to %+v and %+v", out.PictureID, other, k)
			}
			byIn[k], byOut[out.PictureID] = out.PictureID, k
			if int16((out.PictureID-lastOut)<<1) > 0 || sw {
				lastOut = out.PictureID
			}
		}
	})
}
