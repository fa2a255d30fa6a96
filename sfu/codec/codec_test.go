package codec

import (
	"errors"
	"testing"
)

func TestFromMime(t *testing.T) {
	cases := []struct {
		mime string
		want Codec
	}{
		{"video/VP8", VP8}, {"video/vp8", VP8}, {"VIDEO/VP9", VP9}, {"video/H264", H264},
		{"video/h265", H265}, {"video/HEVC", H265}, {"video/AV1", AV1}, {"audio/opus", Opus},
		{"audio/OPUS", Opus}, {"video/rtx", Unknown}, {"", Unknown}, {"video/VP8 ", Unknown},
	}
	for _, tc := range cases {
		if got := FromMime(tc.mime); got != tc.want {
			t.Errorf("FromMime(%q) = %v, want %v", tc.mime, got, tc.want)
		}
	}
	if !VP8.IsVideo() || Opus.IsVideo() || Unknown.IsVideo() {
		t.Error("IsVideo wrong")
	}
}

// keyframeCases is shared by TestKeyframeStart and the fuzz seeds.
var keyframeCases = []struct {
	name    string
	mime    string
	payload []byte
	want    bool
}{
	{"vp8 chrome key", "video/VP8", chromeVP8Key, true},
	{"vp8 chrome tl2 delta", "video/VP8", chromeVP8TL2, false},
	{"vp8 continuation", "video/VP8", chromeVP8Cont, false},
	{"vp8 7-bit key", "video/vp8", vp8Short, true},
	{"vp8 bare delta", "video/VP8", vp8Bare, false},
	{"vp8 partition 1", "video/VP8", cat([]byte{0x11}, vp8KeyTag), false},
	{"vp8 descriptor only", "video/VP8", []byte{0x90, 0xe0, 0x92, 0x34, 0x56, 0x20}, false},
	{"vp8 truncated", "video/VP8", []byte{0x90, 0xe0, 0x92}, false},
	{"vp8 empty", "video/VP8", nil, false},
	{"vp9 key", "video/VP9", vp9Key, true},
	{"vp9 delta", "video/VP9", vp9Delta, false},
	{"vp9 intra-only", "video/VP9", vp9IntraOnly, false},
	{"vp9 key spatial 1", "video/VP9", vp9KeySpatial1, false},
	{"vp9 key header out of reach", "video/VP9", vp9KeyNoHeader, true},
	{"vp9 not frame start", "video/VP9", vp9NotStart, false},
	{"vp9 profile 3 key", "video/VP9", vp9Profile3Key, true},
	{"vp9 show existing", "video/VP9", vp9ShowExisting, false},
	{"vp9 ss with groups", "video/VP9", []byte{0x8a, 0x80, 0x01, 0x18 | 0x08, 0, 1, 0, 2, 0x01, 0x04, 0x01, 0x82}, true},
	{"vp9 ss truncated", "video/VP9", []byte{0x8a, 0x80, 0x01, 0x18}, false},
	{"vp9 empty", "video/VP9", nil, false},
	{"h264 sps", "video/H264", h264SPSNal, true},
	{"h264 pps", "video/H264", h264PPSNal, false},
	{"h264 idr", "video/H264", h264IDRNal, true},
	{"h264 p slice", "video/H264", h264PNal, false},
	{"h264 stap-a sps pps idr", "video/H264", h264STAPA, true},
	{"h264 stap-a sps pps", "video/H264", h264STAPAParams, true},
	{"h264 stap-a pps p", "video/H264", cat([]byte{0x78, 0, 4}, h264PPSNal, []byte{0, 4}, h264PNal), false},
	{"h264 stap-a truncated size", "video/H264", []byte{0x78, 0x00}, false},
	{"h264 fu-a start idr", "video/H264", h264FUAStart, true},
	{"h264 fu-a middle", "video/H264", h264FUAMiddle, false},
	{"h264 fu-a end", "video/H264", h264FUAEnd, false},
	{"h264 fu-a start p", "video/H264", h264FUAStartP, false},
	{"h264 fu-a no header", "video/H264", []byte{0x7c}, false},
	{"h265 idr", "video/H265", h265IDR, true},
	{"h265 cra", "video/H265", h265CRA, true},
	{"h265 trail", "video/H265", h265Trail, false},
	{"h265 vps", "video/H265", h265VPSNal, true},
	{"h265 ap with vps", "video/H265", h265APKey, true},
	{"h265 ap delta", "video/H265", h265APDelta, false},
	{"h265 fu start idr", "video/H265", h265FUStart, true},
	{"h265 fu middle", "video/H265", h265FUMid, false},
	{"h265 fu start trail", "video/H265", h265FUTrail, false},
	{"h265 short", "video/H265", []byte{19 << 1}, false},
	{"av1 new sequence", "video/AV1", av1NewSequence, true},
	{"av1 continuation", "video/AV1", av1Continue, false},
	{"av1 seq header w1", "video/AV1", av1SeqHeaderW1, true},
	{"av1 frame w0", "video/AV1", av1FrameW0, false},
	{"av1 two-byte length", "video/AV1", av1TwoByteLen, true},
	{"av1 bad length", "video/AV1", []byte{0x00, 0x80, 0x80}, false},
	{"av1 empty", "video/AV1", nil, false},
	{"opus", "audio/opus", []byte{0xfc, 0xff, 0xfe}, false},
	{"unknown", "video/rtx", chromeVP8Key, false},
}

func TestKeyframeStart(t *testing.T) {
	for _, tc := range keyframeCases {
		if got := Keyframe(tc.mime, tc.payload); got != tc.want {
			t.Errorf("%s: Keyframe = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestH264ParameterSets(t *testing.T) {
	cases := []struct {
		name     string
		payload  []byte
		sps, pps bool
	}{
		{"sps", h264SPSNal, true, false},
		{"pps", h264PPSNal, false, true},
		{"idr", h264IDRNal, false, false},
		{"stap-a all", h264STAPA, true, true},
		{"stap-a params", h264STAPAParams, true, true},
		{"fu-a idr", h264FUAStart, false, false},
		{"empty", nil, false, false},
	}
	for _, tc := range cases {
		sps, pps := H264ParameterSets(tc.payload)
		if sps != tc.sps || pps != tc.pps {
			t.Errorf("%s: H264ParameterSets = %v, %v; want %v, %v", tc.name, sps, pps, tc.sps, tc.pps)
		}
	}
}

var fmtpCases = []struct {
	line    string
	want    H264Params
	wantErr bool
}{
	{"level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		H264Params{HasProfileLevelID: true, ProfileIDC: 0x42, ProfileIOP: 0xe0, LevelIDC: 0x1f,
			PacketizationMode: 1, LevelAsymmetryAllowed: true}, false},
	{"profile-level-id=640C34; packetization-mode=0",
		H264Params{HasProfileLevelID: true, ProfileIDC: 0x64, ProfileIOP: 0x0c, LevelIDC: 0x34}, false},
	{"packetization-mode=1;sprop-parameter-sets=Z0IAH5WoFAFuQA==,aM48gA==", H264Params{PacketizationMode: 1}, false},
	{"", H264Params{}, false},
	{"profile-level-id=42e01", H264Params{}, true},
	{"profile-level-id=zze01f", H264Params{}, true},
	{"packetization-mode=3", H264Params{}, true},
	{"packetization-mode=x", H264Params{}, true},
}

func TestParseH264Fmtp(t *testing.T) {
	for _, tc := range fmtpCases {
		got, err := ParseH264Fmtp(tc.line)
		if tc.wantErr {
			if !errors.Is(err, ErrInvalidFmtp) {
				t.Errorf("%q: error = %v, want ErrInvalidFmtp", tc.line, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
}

var audioLevelCases = []struct {
	ext   []byte
	level uint8
	voice bool
	ok    bool
}{
	{[]byte{0x80 | 30}, 30, true, true},
	{[]byte{127}, 127, false, true},
	{[]byte{0x00}, 0, false, true},
	{[]byte{0xff, 0x00}, 127, true, true},
	{nil, 0, false, false},
}

func TestParseAudioLevel(t *testing.T) {
	for _, tc := range audioLevelCases {
		level, voice, ok := ParseAudioLevel(tc.ext)
		if level != tc.level || voice != tc.voice || ok != tc.ok {
			t.Errorf("ParseAudioLevel(%x) = %d, %v, %v; want %d, %v, %v",
				tc.ext, level, voice, ok, tc.level, tc.voice, tc.ok)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	buf := append([]byte(nil), chromeVP8Key...)
	var pid uint16
	allocs := testing.AllocsPerRun(1000, func() {
		for _, tc := range keyframeCases {
			Keyframe(tc.mime, tc.payload)
		}
		d, _ := ParseVP8(buf)
		pid++
		_ = RewriteVP8(buf, pid, d.TL0PICIDX+1)
		_, _ = ParseVP8([]byte(nil)) // error path
		H264ParameterSets(h264STAPA)
		ParseAudioLevel(audioLevelCases[0].ext)
	})
	if allocs != 0 {
		t.Errorf("per-packet calls allocate %.1f times per run, want 0", allocs)
	}
}
