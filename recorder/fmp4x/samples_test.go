package fmp4x

import (
	"bytes"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// trackFile is an init segment followed by one fragment of three samples
// (a sync sample, then two non-sync ones) starting at base.
func trackFile(t testing.TB, p TrackParams, base uint64) []byte {
	t.Helper()
	init, err := BuildInit(p)
	if err != nil {
		t.Fatal(err)
	}
	part := fmp4.Part{SequenceNumber: 1, Tracks: []*fmp4.PartTrack{{ID: 1, BaseTime: base, Samples: []*fmp4.Sample{
		{Duration: 3000, Payload: []byte("key-frame")},
		{Duration: 3000, IsNonSyncSample: true, Payload: []byte("delta1")},
		{Duration: 3003, IsNonSyncSample: true, Payload: []byte("delta-two")},
	}}}}
	var buf seekablebuffer.Buffer
	if err := part.Marshal(&buf); err != nil {
		t.Fatal(err)
	}
	return append(init, buf.Bytes()...)
}

func TestReadSamples(t *testing.T) {
	file := trackFile(t, TrackParams{Codec: CodecVP8, Width: 640, Height: 360}, 90000*5)
	ix, err := Scan(bytes.NewReader(file), int64(len(file)))
	if err != nil || len(ix.Fragments) != 1 {
		t.Fatalf("scan: %v %+v", err, ix)
	}
	got, err := ReadSamples(bytes.NewReader(file), ix.Fragments[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		payload string
		dts     uint64
		sync    bool
	}{{"key-frame", 450000, true}, {"delta1", 453000, false}, {"delta-two", 456000, false}}
	if len(got) != len(want) {
		t.Fatalf("%d samples", len(got))
	}
	for i, w := range want {
		s := got[i]
		if string(file[s.Offset:s.Offset+int64(s.Size)]) != w.payload || s.DTS != w.dts || s.Sync != w.sync {
			t.Errorf("sample %d: %+v %q, want %+v", i, s, file[s.Offset:s.Offset+int64(s.Size)], w)
		}
	}
}

func TestParseEntry(t *testing.T) {
	cases := []struct {
		p      TrackParams
		fourcc string
		w, ch  int
		codecs string
	}{
		{TrackParams{Codec: CodecVP8, Width: 640, Height: 360}, "vp08", 640, 0, "vp08.00.10.08"},
		{TrackParams{Codec: CodecVP9, Width: 1280, Height: 720}, "vp09", 1280, 0, "vp09.00.10.08"},
		{TrackParams{Codec: CodecOpus, Channels: 2}, "Opus", 0, 2, ""},
		{TrackParams{Codec: CodecPCMU}, "ulaw", 0, 1, ""},
	}
	for _, c := range cases {
		init, err := BuildInit(c.p)
		if err != nil {
			t.Fatal(err)
		}
		e, err := ParseEntry(init)
		if err != nil {
			t.Fatalf("%s: %v", c.p.Codec, err)
		}
		if e.FourCC != c.fourcc || e.Width != c.w || e.Channels != c.ch {
			t.Errorf("%s: %+v", c.p.Codec, e)
		}
		if c.codecs != "" && e.VPCodecString() != c.codecs {
			t.Errorf("%s: codecs %q, want %q", c.p.Codec, e.VPCodecString(), c.codecs)
		}
	}
}

func FuzzParseSamples(f *testing.F) {
	file := trackFile(f, TrackParams{Codec: CodecVP8, Width: 64, Height: 64}, 0)
	ix, err := Scan(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		f.Fatal(err)
	}
	moof := file[ix.Fragments[0].Offset : ix.Fragments[0].Offset+ix.Fragments[0].Size]
	f.Add(moof)
	f.Add(moof[:40])
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseSamples(b, 0)
	})
}

func FuzzParseEntry(f *testing.F) {
	for _, p := range []TrackParams{{Codec: CodecVP8, Width: 64, Height: 64}, {Codec: CodecOpus, Channels: 2}} {
		init, err := BuildInit(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(init)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEntry(b)
		if err == nil {
			_ = e.VPCodecString()
		}
	})
}
