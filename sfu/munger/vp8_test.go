package munger

import (
	"testing"

	"github.com/classcast/classcast/sfu/codec"
)

// vp8Desc is a Chromium-style descriptor: 15-bit picture id, TL0PICIDX and
// TID present.
func vp8Desc(pid uint16, tl0 uint8, sync bool, tid uint8) codec.VP8Descriptor {
	return codec.VP8Descriptor{
		Extended: true, Start: true, HasPictureID: true, PictureID15: true, PictureID: pid & 0x7fff,
		HasTL0PICIDX: true, TL0PICIDX: tl0, HasTID: true, TID: tid, LayerSync: sync, HeaderSize: 6,
	}
}

// vp8Source produces frames in libwebrtc's three-layer pattern
// (TID 0,2,1,2,...), with layer sync on the first TL1 and TL2 frames after
// each TL0 frame... as a simple, predictable stand-in: Y is set on every
// frame directly following a TL0 frame.
type vp8Source struct {
	pid uint16
	tl0 uint8
	k   int
}

var tidPattern = [4]uint8{0, 2, 1, 2}

func (s *vp8Source) next() codec.VP8Descriptor {
	tid := tidPattern[s.k%4]
	if tid == 0 && s.k > 0 {
		s.tl0++
	}
	d := vp8Desc(s.pid, s.tl0, s.k%4 == 1, tid)
	d.Keyframe = s.k == 0
	s.pid = (s.pid + 1) & 0x7fff
	s.k++
	return d
}

func TestVP8TemporalFilterSweep(t *testing.T) {
	for _, maxTID := range []uint8{0, 1, 2} {
		for _, pid0 := range []uint16{0, 0x7ff0, 0x7fff} {
			for _, tl00 := range []uint8{0, 0xfe, 0xff} {
				v := NewVP8()
				v.SetMaxTemporalLayer(maxTID)
				src := &vp8Source{pid: pid0, tl0: tl00}
				var prev VP8Out
				forwarded := 0
				for k := range 100 {
					d := src.next()
					out, act := v.Munge(&d, 0, false)
					wantForward := k == 0 || d.TID <= maxTID
					if (act == VP8Forward) != wantForward || act == VP8Refuse {
						t.Fatalf("max %d k %d tid %d: action %d", maxTID, k, d.TID, act)
					}
					if act != VP8Forward {
						continue
					}
					if forwarded > 0 && out.PictureID != (prev.PictureID+1)&0x7fff {
						t.Fatalf("max %d pid0 %d k %d: picture id %d after %d", maxTID, pid0, k, out.PictureID, prev.PictureID)
					}
					if out.TL0PICIDX != d.TL0PICIDX {
						t.Fatalf("TL0PICIDX changed without a switch: %d -> %d", d.TL0PICIDX, out.TL0PICIDX)
					}
					prev = out
					forwarded++
				}
			}
		}
	}
}

func TestVP8SwitchUpWaitsForSyncPoint(t *testing.T) {
	type frame struct {
		tid  uint8
		sync bool
		want VP8Action
		cur  uint8 // MaxTemporalLayer after the frame
	}
	cases := []struct {
		name   string
		target uint8
		frames []frame
	}{
		{"up at TL0", 2, []frame{{2, false, VP8Drop, 0}, {1, false, VP8Drop, 0}, {2, false, VP8Drop, 0},
			{0, false, VP8Forward, 2}, {2, false, VP8Forward, 2}, {1, false, VP8Forward, 2}}},
		{"up at layer sync, one layer at a time", 2, []frame{{2, false, VP8Drop, 0}, {1, true, VP8Forward, 1},
			{2, false, VP8Drop, 1}, {1, false, VP8Forward, 1}, {2, true, VP8Forward, 2}, {2, false, VP8Forward, 2}}},
		{"sync above target ignored", 1, []frame{{2, true, VP8Drop, 0}, {1, false, VP8Drop, 0}, {1, true, VP8Forward, 1}}},
		{"down at once", 0, []frame{{2, false, VP8Drop, 0}, {1, true, VP8Drop, 0}, {0, false, VP8Forward, 0}}},
	}
	for _, tc := range cases {
		v := NewVP8()
		v.SetMaxTemporalLayer(0)
		pid := uint16(100)
		d := vp8Desc(pid, 5, false, 0)
		v.Munge(&d, 0, true)
		v.SetMaxTemporalLayer(tc.target)
		for i, f := range tc.frames {
			pid++
			d := vp8Desc(pid, 5, f.sync, f.tid)
			if _, act := v.Munge(&d, 0, false); act != f.want || v.MaxTemporalLayer() != f.cur {
				t.Fatalf("%s frame %d: action %d cur %d, want %d cur %d", tc.name, i, act, v.MaxTemporalLayer(), f.want, f.cur)
			}
		}
	}
	if v := NewVP8(); func() bool { v.SetMaxTemporalLayer(9); return v.target != 3 }() {
		t.Error("SetMaxTemporalLayer did not clamp to 3")
	}
}

// TestVP8FrameConsistency: every packet of a frame, reordered or
// retransmitted, gets the frame's decision and picture id.
func TestVP8FrameConsistency(t *testing.T) {
	v := NewVP8()
	v.SetMaxTemporalLayer(1)
	frames := []codec.VP8Descriptor{
		vp8Desc(0x7ffe, 9, false, 0), vp8Desc(0x7fff, 9, true, 2), vp8Desc(0, 9, true, 1), vp8Desc(1, 9, false, 2),
		vp8Desc(2, 10, false, 0),
	}
	want := []struct {
		act VP8Action
		pid uint16
	}{{VP8Forward, 0x7ffe}, {VP8Drop, 0}, {VP8Forward, 0x7fff}, {VP8Drop, 0}, {VP8Forward, 0}}
	order := []int{0, 1, 2, 1, 3, 2, 0, 4, 3, 4, 2}
	for _, i := range order {
		d := frames[i]
		out, act := v.Munge(&d, 0, false)
		if act != want[i].act || (act == VP8Forward && out.PictureID != want[i].pid) {
			t.Fatalf("frame %d: %d %#x, want %d %#x", i, act, out.PictureID, want[i].act, want[i].pid)
		}
	}
}

func TestVP8LateFrames(t *testing.T) {
	v := NewVP8()
	v.SetMaxTemporalLayer(1)
	d := vp8Desc(10, 1, false, 0)
	v.Munge(&d, 0, true)
	// Frame 12 arrives before 11; nothing dropped in between, so 11
	// still gets its place.
	d = vp8Desc(12, 1, false, 1)
	if out, act := v.Munge(&d, 0, false); act != VP8Forward || out.PictureID != 12 {
		t.Fatalf("frame 12: %d %d", act, out.PictureID)
	}
	d = vp8Desc(11, 1, false, 1)
	if out, act := v.Munge(&d, 0, false); act != VP8Forward || out.PictureID != 11 {
		t.Fatalf("late frame 11: %d %d", act, out.PictureID)
	}
	// 14 (TL2) is dropped, closing its gap; 15 follows as 14. Then 13
	// shows up late and keeps the id it had before the drop.
	d = vp8Desc(14, 1, false, 2)
	if _, act := v.Munge(&d, 0, false); act != VP8Drop {
		t.Fatalf("frame 14 not dropped: %d", act)
	}
	d = vp8Desc(15, 2, false, 0)
	if out, act := v.Munge(&d, 0, false); act != VP8Forward || out.PictureID != 14 {
		t.Fatalf("frame 15: %d %d, want id 14", act, out.PictureID)
	}
	d = vp8Desc(13, 1, false, 1)
	if out, act := v.Munge(&d, 0, false); act != VP8Forward || out.PictureID != 13 {
		t.Fatalf("late frame 13 across a drop: %d %d, want id 13", act, out.PictureID)
	}
	// 17 (TL1) then 16 (TL2, late): 16 is dropped but cannot close its
	// gap any more.
	d = vp8Desc(17, 2, false, 1)
	if out, act := v.Munge(&d, 0, false); act != VP8Forward || out.PictureID != 16 {
		t.Fatalf("frame 17: %d %d, want id 16", act, out.PictureID)
	}
	d = vp8Desc(16, 2, false, 2)
	if _, act := v.Munge(&d, 0, false); act != VP8Drop {
		t.Fatalf("late TL2 frame 16: %d, want dropped", act)
	}
	// Before the switch point, far too late, and another source.
	for _, late := range []uint16{9, (15 - vp8FrameRingSize) & 0x7fff} {
		d = vp8Desc(late, 0, false, 0)
		if _, act := v.Munge(&d, 0, false); act != VP8Refuse {
			t.Errorf("frame %d: %d, want refused", late, act)
		}
	}
	d = vp8Desc(18, 2, false, 0)
	if _, act := v.Munge(&d, 1, false); act != VP8Refuse {
		t.Error("other source not refused")
	}
}

// TestVP8SwitchSweep switches between sources whose picture ids and
// TL0PICIDX are in unrelated places (including both wrap points): the
// output must continue +1 for both.
func TestVP8SwitchSweep(t *testing.T) {
	for _, pidA := range []uint16{0, 0x7fff, 0x4000} {
		for _, tl0B := range []uint8{0, 0xff, 0x80} {
			srcs := []*vp8Source{{pid: pidA, tl0: 3}, {pid: pidA ^ 0x7fff, tl0: tl0B}, {pid: 7, tl0: tl0B + 1}}
			v := NewVP8()
			cur := 0
			var prev VP8Out
			for k := range 120 {
				sw := k > 0 && k%16 == 0 // TL0 frames: a keyframe in real life
				if sw {
					cur = (cur + 1) % len(srcs)
				}
				var d codec.VP8Descriptor
				for i, s := range srcs {
					e := s.next()
					if i == cur {
						d = e
					}
				}
				out, act := v.Munge(&d, uint8(cur), sw)
				if act != VP8Forward {
					t.Fatalf("k %d: action %d", k, act)
				}
				if k > 0 && out.PictureID != (prev.PictureID+1)&0x7fff {
					t.Fatalf("pidA %d tl0B %d k %d: picture id %d after %d", pidA, tl0B, k, out.PictureID, prev.PictureID)
				}
				if k > 0 && d.TID == 0 && out.TL0PICIDX != prev.TL0PICIDX+1 {
					t.Fatalf("pidA %d tl0B %d k %d: TL0PICIDX %d after %d", pidA, tl0B, k, out.TL0PICIDX, prev.TL0PICIDX)
				}
				prev = out
			}
		}
	}
}

func TestVP8SevenBitPictureID(t *testing.T) {
	v := NewVP8()
	v.SetMaxTemporalLayer(0)
	var prev VP8Out
	for k := range 400 {
		d := codec.VP8Descriptor{HasPictureID: true, PictureID: uint16(k+120) & 0x7f, HasTID: true, TID: uint8(k % 2)}
		out, act := v.Munge(&d, 0, false)
		if k%2 == 1 {
			if act != VP8Drop {
				t.Fatalf("k %d: %d", k, act)
			}
			continue
		}
		if act != VP8Forward || (k > 0 && out.PictureID&0x7f != (prev.PictureID+1)&0x7f) {
			t.Fatalf("k %d: %d id %d after %d", k, act, out.PictureID, prev.PictureID)
		}
		prev = out
	}
}

func TestVP8WithoutPictureID(t *testing.T) {
	v := NewVP8()
	v.SetMaxTemporalLayer(0)
	d := codec.VP8Descriptor{HasTID: true, TID: 0}
	if _, act := v.Munge(&d, 0, true); act != VP8Forward {
		t.Fatal("switch packet not forwarded")
	}
	d.TID = 1
	if _, act := v.Munge(&d, 0, false); act != VP8Drop {
		t.Fatal("TL1 packet without picture id forwarded")
	}
	d = codec.VP8Descriptor{}
	if _, act := v.Munge(&d, 0, false); act != VP8Forward {
		t.Fatal("plain packet not forwarded")
	}
}
