package media

import (
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

var vp8Cases = []struct {
	name    string
	payload []byte
	want    VP8Info
	err     error
}{
	{"empty", nil, VP8Info{PictureID: -1}, ErrShortPacket},
	{"interframe start", []byte{0x10, 0x01}, VP8Info{HeaderLen: 1, PictureID: -1, FrameStart: true}, nil},
	{"continuation", []byte{0x00, 0x00}, VP8Info{HeaderLen: 1, PictureID: -1}, nil},
	{"keyframe 15-bit picture id", []byte{0x90, 0x80, 0x81, 0x02, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00},
		VP8Info{HeaderLen: 4, PictureID: 0x102, FrameStart: true, Keyframe: true, Width: 320, Height: 180}, nil},
	{"keyframe 7-bit picture id, tl0, tid", []byte{0x90, 0xe0, 0x05, 0x07, 0x40, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02},
		VP8Info{HeaderLen: 5, PictureID: 5, FrameStart: true, Keyframe: true, Width: 1280, Height: 720}, nil},
	{"truncated picture id", []byte{0x90, 0x80, 0x81}, VP8Info{PictureID: -1}, ErrShortPacket},
}

func TestInspectVP8(t *testing.T) {
	for _, c := range vp8Cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := InspectVP8(c.payload)
			if !errors.Is(err, c.err) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
			if err == nil && got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func FuzzInspectVP8(f *testing.F) {
	for _, c := range vp8Cases {
		f.Add(c.payload)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := InspectVP8(b)
		if err == nil && info.HeaderLen > len(b) {
			t.Fatalf("header length %d beyond %d bytes", info.HeaderLen, len(b))
		}
	})
}

var h264Cases = []struct {
	name    string
	payload []byte
	want    bool
}{
	{"empty", nil, false},
	{"idr", []byte{0x65, 0x88}, true},
	{"non-idr", []byte{0x41, 0x9a}, false},
	{"sps", []byte{0x67, 0x42}, true},
	{"stap-a sps+pps", []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, true},
	{"stap-a truncated", []byte{0x78, 0x00, 0x09, 0x67}, false},
	{"fu-a idr start", []byte{0x7c, 0x85, 0x88}, true},
	{"fu-a idr middle", []byte{0x7c, 0x05, 0x88}, false},
}

func TestH264Keyframe(t *testing.T) {
	for _, c := range h264Cases {
		if got := H264Keyframe(c.payload); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}

func FuzzH264Keyframe(f *testing.F) {
	for _, c := range h264Cases {
		f.Add(c.payload)
	}
	f.Fuzz(func(_ *testing.T, b []byte) { H264Keyframe(b) })
}

func TestSyntheticRoundTripThroughPayloader(t *testing.T) {
	now := time.Unix(1700000000, 123456789)
	src := NewSyntheticSource(SyntheticConfig{Width: 640, Height: 360, KeyframeInterval: 3, Now: func() time.Time { return now }})
	pay := &codecs.VP8Payloader{EnablePictureID: true}
	for i := 0; i < 6; i++ {
		s, err := src.NextSample()
		if err != nil {
			t.Fatal(err)
		}
		pkts := pay.Payload(1200, s.Data)
		info, err := InspectVP8(pkts[0])
		if err != nil || !info.FrameStart || info.Keyframe != (i%3 == 0) {
			t.Fatalf("frame %d: %+v %v", i, info, err)
		}
		if info.Keyframe && (info.Width != 640 || info.Height != 360) {
			t.Fatalf("frame %d size %dx%d", i, info.Width, info.Height)
		}
		f, err := ParseSyntheticFrame(pkts[0][info.HeaderLen:], false)
		if err != nil || f.Sequence != uint32(i) || !f.SentAt.Equal(now) || f.Keyframe != info.Keyframe {
			t.Fatalf("frame %d: %+v %v", i, f, err)
		}
		// The frame tag's partition size must match the frame (an SFU may check it).
		tag := uint32(s.Data[0]) | uint32(s.Data[1])<<8 | uint32(s.Data[2])<<16
		hdr := 3
		if info.Keyframe {
			hdr = 10
		}
		if int(tag>>5) != len(s.Data)-hdr {
			t.Fatalf("frame %d partition size %d, frame %d", i, tag>>5, len(s.Data))
		}
	}
	audio := NewSyntheticSource(SyntheticConfig{Audio: true})
	s, _ := audio.NextSample()
	if f, err := ParseSyntheticFrame(s.Data, true); err != nil || f.Sequence != 0 || s.Duration != 20*time.Millisecond {
		t.Fatalf("audio: %+v %v", f, err)
	}
	if _, err := ParseSyntheticFrame([]byte("not a synthetic frame at all, no"), false); !errors.Is(err, ErrNotSynthetic) {
		t.Fatalf("err %v", err)
	}
}

func FuzzParseSyntheticFrame(f *testing.F) {
	src := NewSyntheticSource(SyntheticConfig{})
	s, _ := src.NextSample()
	f.Add(append([]byte(nil), s.Data...), false)
	s, _ = src.NextSample()
	f.Add(append([]byte(nil), s.Data...), false)
	f.Add([]byte{0xf8, 'C', 'C', 'S', 'Y'}, true)
	f.Fuzz(func(_ *testing.T, b []byte, audio bool) { _, _ = ParseSyntheticFrame(b, audio) })
}

// The committed test media: 5 s at 25 fps with a keyframe every second, and 5 s of 20 ms Opus.
func TestFileSources(t *testing.T) {
	for _, c := range []struct {
		path     string
		mime     string
		perLoop  int
		keyEvery int
		w, h     int
	}{
		{"../testdata/vp8_180p.ivf", webrtc.MimeTypeVP8, 125, 25, 320, 180},
		{"../testdata/vp8_360p.ivf", webrtc.MimeTypeVP8, 125, 25, 640, 360},
		{"../testdata/vp8_720p.ivf", webrtc.MimeTypeVP8, 125, 25, 1280, 720},
		{"../testdata/h264_180p.h264", webrtc.MimeTypeH264, 125, 25, 0, 0},
		{"../testdata/h264_720p.h264", webrtc.MimeTypeH264, 125, 25, 0, 0},
		{"../testdata/opus_48k.ogg", webrtc.MimeTypeOpus, 250, 0, 0, 0},
	} {
		t.Run(c.path, func(t *testing.T) {
			src, err := OpenFile(c.path, 25)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if src.MimeType() != c.mime {
				t.Fatalf("mime %s", src.MimeType())
			}
			var total time.Duration
			keys := 0
			for i := 0; i < 2*c.perLoop+1; i++ { // crosses the loop point twice
				s, err := src.NextSample()
				if err != nil {
					t.Fatalf("sample %d: %v", i, err)
				}
				if i < c.perLoop {
					total += s.Duration
				}
				if key, w, h := sampleKey(c.mime, s.Data); key {
					keys++
					if c.w != 0 && (w != c.w || h != c.h) {
						t.Fatalf("keyframe size %dx%d", w, h)
					}
				}
			}
			if total < 4900*time.Millisecond || total > 5100*time.Millisecond {
				t.Errorf("one loop lasts %v", total)
			}
			if c.keyEvery > 0 && keys != 2*c.perLoop/c.keyEvery+1 {
				t.Errorf("%d keyframes", keys)
			}
		})
	}
}

func sampleKey(mime string, data []byte) (bool, int, int) {
	switch mime {
	case webrtc.MimeTypeVP8:
		info, _ := InspectVP8(append([]byte{0x10}, data...))
		return info.Keyframe, info.Width, info.Height
	case webrtc.MimeTypeH264:
		for i := 0; i+4 < len(data); i++ {
			if data[i] == 0 && data[i+1] == 0 && data[i+2] == 1 && data[i+3]&0x1f == 5 {
				return true, 0, 0
			}
		}
	}
	return false, 0, 0
}

// The files must decode with a real decoder, not just parse.
func TestFilesDecodeWithFFmpeg(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (apt-get install ffmpeg)")
	}
	for _, f := range []string{"vp8_180p.ivf", "vp8_720p.ivf", "h264_360p.h264", "opus_48k.ogg"} {
		out, err := exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", "../testdata/"+f, "-f", "null", "-").CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v: %s", f, err, out)
		}
	}
}

func BenchmarkInspectVP8(b *testing.B) {
	p := vp8Cases[3].payload
	b.ReportAllocs()
	for b.Loop() {
		_, _ = InspectVP8(p)
	}
}
