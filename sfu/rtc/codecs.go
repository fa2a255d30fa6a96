package rtc

import (
	"fmt"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// videoFeedback is what every video codec advertises. transport-cc is added by
// the TWCC configuration of each direction.
var videoFeedback = []webrtc.RTCPFeedback{
	{Type: "goog-remb"},
	{Type: "ccm", Parameter: "fir"},
	{Type: "nack"},
	{Type: "nack", Parameter: "pli"},
}

// SupportedCodecs is the SFU's codec table. Payload types follow Chromium's
// usual numbering so that SDP diffs stay readable. H.264 is listed in the
// profiles Chromium and common RTSP cameras produce; the SFU forwards without
// transcoding, so a subscriber must accept the publisher's exact profile.
func SupportedCodecs() []webrtc.RTPCodecParameters {
	video := func(pt uint8, mime, fmtp string) webrtc.RTPCodecParameters {
		return webrtc.RTPCodecParameters{
			PayloadType: webrtc.PayloadType(pt),
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: mime, ClockRate: 90000, SDPFmtpLine: fmtp, RTCPFeedback: videoFeedback,
			},
		}
	}
	rtx := func(pt, apt uint8) webrtc.RTPCodecParameters {
		return webrtc.RTPCodecParameters{
			PayloadType: webrtc.PayloadType(pt),
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", apt),
			},
		}
	}
	return []webrtc.RTPCodecParameters{
		{
			PayloadType: 111,
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
				SDPFmtpLine: "minptime=10;useinbandfec=1",
			},
		},
		{PayloadType: 0, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}},
		{PayloadType: 8, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000}},
		video(96, webrtc.MimeTypeVP8, ""), rtx(97, 96),
		video(102, webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"), rtx(103, 102),
		video(104, webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f"), rtx(105, 104),
		video(106, webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"), rtx(107, 106),
		video(108, webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f"), rtx(109, 108),
		video(127, webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"), rtx(125, 127),
		video(112, webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f"), rtx(113, 112),
		video(98, webrtc.MimeTypeVP9, "profile-id=0"), rtx(99, 98),
		video(35, webrtc.MimeTypeAV1, ""), rtx(36, 35),
	}
}

func registerCodecs(m *webrtc.MediaEngine) error {
	for _, c := range SupportedCodecs() {
		typ := webrtc.RTPCodecTypeVideo
		if c.ClockRate != 90000 {
			typ = webrtc.RTPCodecTypeAudio
		}
		if err := m.RegisterCodec(c, typ); err != nil {
			return fmt.Errorf("register %s: %w", c.MimeType, err)
		}
	}
	exts := []struct {
		uri string
		typ webrtc.RTPCodecType
	}{
		{sdp.SDESMidURI, webrtc.RTPCodecTypeAudio},
		{sdp.SDESMidURI, webrtc.RTPCodecTypeVideo},
		{sdp.AudioLevelURI, webrtc.RTPCodecTypeAudio},
	}
	for _, e := range exts {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: e.uri}, e.typ); err != nil {
			return fmt.Errorf("register extension %s: %w", e.uri, err)
		}
	}
	return nil
}

// SupportedMimeTypes lists the mime types the SFU forwards, for clear errors.
func SupportedMimeTypes() []string {
	return []string{
		webrtc.MimeTypeOpus, webrtc.MimeTypePCMU, webrtc.MimeTypePCMA,
		webrtc.MimeTypeVP8, webrtc.MimeTypeH264, webrtc.MimeTypeVP9, webrtc.MimeTypeAV1,
	}
}
