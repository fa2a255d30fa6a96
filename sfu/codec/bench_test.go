package codec

import "testing"

func BenchmarkParseVP8(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseVP8(chromeVP8Key)
	}
}

func BenchmarkRewriteVP8(b *testing.B) {
	buf := append([]byte(nil), chromeVP8TL2...)
	b.ReportAllocs()
	var pid uint16
	for b.Loop() {
		pid++
		_ = RewriteVP8(buf, pid, uint8(pid))
	}
}

func BenchmarkKeyframeStart(b *testing.B) {
	for _, bc := range []struct {
		name    string
		codec   Codec
		payload []byte
	}{
		{"VP8", VP8, chromeVP8TL2},
		{"VP9", VP9, vp9Delta},
		{"H264-STAP-A", H264, h264STAPA},
		{"H264-FU-A", H264, h264FUAMiddle},
		{"H265-AP", H265, h265APDelta},
		{"AV1", AV1, av1FrameW0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.codec.KeyframeStart(bc.payload)
			}
		})
	}
}

func BenchmarkKeyframeByMime(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Keyframe("video/H264", h264FUAMiddle)
	}
}
