package codec

import (
	"bytes"
	"errors"
	"testing"
)

var vp8Cases = []struct {
	name    string
	payload []byte
	want    VP8Descriptor
	wantErr bool
}{
	{"chrome key", chromeVP8Key, VP8Descriptor{
		Extended: true, Start: true, HasPictureID: true, PictureID15: true, PictureID: 0x1234,
		HasTL0PICIDX: true, TL0PICIDX: 0x56, HasTID: true, TID: 0, LayerSync: true,
		HeaderSize: 6, Keyframe: true}, false},
	{"chrome tl2", chromeVP8TL2, VP8Descriptor{
		Extended: true, NonReference: true, Start: true, HasPictureID: true, PictureID15: true,
		PictureID: 0x7fff, HasTL0PICIDX: true, TL0PICIDX: 0x57, HasTID: true, TID: 2,
		HeaderSize: 6}, false},
	{"continuation", chromeVP8Cont, VP8Descriptor{
		Extended: true, HasPictureID: true, PictureID15: true, PictureID: 0x1234,
		HasTL0PICIDX: true, TL0PICIDX: 0x56, HasTID: true, LayerSync: true, HeaderSize: 6}, false},
	{"7-bit", vp8Short, VP8Descriptor{
		Extended: true, Start: true, HasPictureID: true, PictureID: 0x45, HeaderSize: 3,
		Keyframe: true}, false},
	{"bare", vp8Bare, VP8Descriptor{Start: true, HeaderSize: 1}, false},
	{"keyidx only", []byte{0x90, 0x10, 0x1f, 0x50}, VP8Descriptor{
		Extended: true, Start: true, HasKeyIdx: true, KeyIdx: 31, HeaderSize: 3, Keyframe: true}, false},
	{"tid and keyidx", []byte{0x80, 0x30, 0xe5}, VP8Descriptor{
		Extended: true, HasTID: true, TID: 3, LayerSync: true, HasKeyIdx: true, KeyIdx: 5,
		HeaderSize: 3}, false},
	{"partition 3", []byte{0x13, 0x50}, VP8Descriptor{Start: true, PartitionID: 3, HeaderSize: 1}, false},
	{"empty", nil, VP8Descriptor{}, true},
	{"no extension byte", []byte{0x80}, VP8Descriptor{}, true},
	{"no picture id", []byte{0x80, 0x80}, VP8Descriptor{}, true},
	{"half 15-bit picture id", []byte{0x80, 0x80, 0x80}, VP8Descriptor{}, true},
	{"no tl0picidx", []byte{0x80, 0xc0, 0x01}, VP8Descriptor{}, true},
	{"no tid byte", []byte{0x80, 0xe0, 0x81, 0x01, 0x05}, VP8Descriptor{}, true},
}

func TestParseVP8(t *testing.T) {
	for _, tc := range vp8Cases {
		got, err := ParseVP8(tc.payload)
		if tc.wantErr {
			if !errors.Is(err, ErrTruncated) {
				t.Errorf("%s: error = %v, want ErrTruncated", tc.name, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s:\n got %+v, %v\nwant %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestRewriteVP8(t *testing.T) {
	cases := []struct {
		name    string
		payload []byte
		pid     uint16
		tl0     uint8
		want    []byte
	}{
		{"15-bit", chromeVP8Key, 0x0102, 0x99,
			cat([]byte{0x90, 0xe0, 0x81, 0x02, 0x99, 0x20}, vp8KeyTag)},
		{"15-bit masks high bit", chromeVP8TL2, 0x8001, 0x00,
			cat([]byte{0xb0, 0xe0, 0x80, 0x01, 0x00, 0x80}, vp8DeltaTag)},
		{"7-bit stays 7-bit", vp8Short, 0x1234, 0x99, cat([]byte{0x90, 0x80, 0x34}, vp8KeyTag)},
		{"tl0 only", []byte{0x90, 0x40, 0x07, 0x50}, 0x1234, 0x08, []byte{0x90, 0x40, 0x08, 0x50}},
		{"nothing to rewrite", vp8Bare, 0x1234, 0x08, vp8Bare},
	}
	for _, tc := range cases {
		buf := append([]byte(nil), tc.payload...)
		if err := RewriteVP8(buf, tc.pid, tc.tl0); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !bytes.Equal(buf, tc.want) {
			t.Errorf("%s: got % x, want % x", tc.name, buf, tc.want)
		}
	}
	if err := RewriteVP8([]byte{0x80, 0x80}, 1, 1); !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated: error = %v, want ErrTruncated", err)
	}
}

// TestRewriteVP8RoundTrip rewrites every table packet with a sweep of values
// (including both wrap points) and checks that parsing gives them back while
// every other field is unchanged.
func TestRewriteVP8RoundTrip(t *testing.T) {
	for _, tc := range vp8Cases {
		if tc.wantErr {
			continue
		}
		for _, pid := range []uint16{0, 1, 0x7f, 0x80, 0x7ffe, 0x7fff, 0x8000, 0xffff} {
			for _, tl0 := range []uint8{0, 0x7f, 0xff} {
				checkRewriteRoundTrip(t, tc.payload, pid, tl0)
			}
		}
	}
}

func checkRewriteRoundTrip(t *testing.T, payload []byte, pid uint16, tl0 uint8) {
	t.Helper()
	before, err := ParseVP8(payload)
	if err != nil {
		return
	}
	buf := append([]byte(nil), payload...)
	if err := RewriteVP8(buf, pid, tl0); err != nil {
		t.Fatalf("RewriteVP8(% x): %v", payload, err)
	}
	after, err := ParseVP8(buf)
	if err != nil {
		t.Fatalf("ParseVP8 after rewrite of % x: %v", payload, err)
	}
	want := before
	if want.HasPictureID {
		want.PictureID = pid & 0x7f
		if want.PictureID15 {
			want.PictureID = pid & 0x7fff
		}
	}
	if want.HasTL0PICIDX {
		want.TL0PICIDX = tl0
	}
	if after != want {
		t.Fatalf("rewrite(% x, %#x, %#x):\n got %+v\nwant %+v", payload, pid, tl0, after, want)
	}
	if !bytes.Equal(buf[before.HeaderSize:], payload[before.HeaderSize:]) {
		t.Fatalf("rewrite touched the VP8 payload of % x", payload)
	}
}
