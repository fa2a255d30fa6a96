package codec

import "testing"

func FuzzParseVP8(f *testing.F) {
	for _, tc := range vp8Cases {
		f.Add(tc.payload, uint16(0x7fff), uint8(0xff))
	}
	f.Fuzz(func(t *testing.T, payload []byte, pid uint16, tl0 uint8) {
		d, err := ParseVP8(payload)
		if err != nil {
			if RewriteVP8(append([]byte(nil), payload...), pid, tl0) == nil {
				t.Fatal("RewriteVP8 accepted what ParseVP8 refused")
			}
			return
		}
		if d.HeaderSize > len(payload) || d.HeaderSize < 1 {
			t.Fatalf("HeaderSize %d out of range for %d bytes", d.HeaderSize, len(payload))
		}
		if d.Keyframe != vp8KeyframeStart(payload) {
			t.Fatal("Keyframe disagrees with KeyframeStart")
		}
		checkRewriteRoundTrip(t, payload, pid, tl0)
	})
}

func FuzzKeyframeStart(f *testing.F) {
	for _, tc := range keyframeCases {
		f.Add(uint8(FromMime(tc.mime)), tc.payload)
	}
	f.Fuzz(func(t *testing.T, c uint8, payload []byte) {
		codec := Codec(c % 8)
		got := codec.KeyframeStart(payload)
		if got && (len(payload) == 0 || !codec.IsVideo()) {
			t.Fatalf("%v keyframe on % x", codec, payload)
		}
		if codec == H264 {
			sps, _ := H264ParameterSets(payload)
			if sps && !got {
				t.Fatal("H.264 packet with an SPS is not a keyframe start")
			}
		}
	})
}

func FuzzParseH264Fmtp(f *testing.F) {
	for _, tc := range fmtpCases {
		f.Add(tc.line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		p, err := ParseH264Fmtp(line)
		if err == nil && p.PacketizationMode > 2 {
			t.Fatalf("packetization-mode %d accepted", p.PacketizationMode)
		}
	})
}

func FuzzParseAudioLevel(f *testing.F) {
	for _, tc := range audioLevelCases {
		f.Add(tc.ext)
	}
	f.Fuzz(func(t *testing.T, ext []byte) {
		level, _, ok := ParseAudioLevel(ext)
		if ok != (len(ext) > 0) || level > 127 {
			t.Fatalf("ParseAudioLevel(% x) = %d, %v", ext, level, ok)
		}
	})
}
