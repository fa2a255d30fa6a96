package sdpoffer

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/sfu/rtc"
)

// fuzzNegotiateTimeout is far above what negotiating any offer takes even
// on a loaded machine (milliseconds, no sockets): reaching it means pion
// stalled on the input.
const fuzzNegotiateTimeout = 20 * time.Second

// seedOffers are the table offers the fuzz targets start from: single
// streams, H.264, and simulcast in the LiveKit and OBS spellings.
func seedOffers() []string {
	return []string{
		seedOffer,
		strings.ReplaceAll(seedOffer, "VP8/90000", "H264/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=42e01f"),
		strings.ReplaceAll(seedOffer, "a=rtpmap:96 VP8/90000\r\na=sendonly",
			"a=rtpmap:96 VP8/90000\r\na=sendonly\r\na=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"+
				"a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\na=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f"),
		strings.ReplaceAll(seedOffer, "a=rtpmap:96 VP8/90000\r\na=sendonly",
			"a=rtpmap:96 VP8/90000\r\na=sendonly\r\na=rid:0 send max-width=1280;max-height=720\r\na=rid:1 send\r\na=simulcast:send 0;~1"),
	}
}

// publisherAPI negotiates like the SFU's publisher side (its codec table
// and the simulcast header extensions) without opening a socket.
func publisherAPI(tb testing.TB) *webrtc.API {
	tb.Helper()
	m := &webrtc.MediaEngine{}
	for _, c := range rtc.SupportedCodecs() {
		kind := webrtc.RTPCodecTypeVideo
		if c.ClockRate != 90000 {
			kind = webrtc.RTPCodecTypeAudio
		}
		if err := m.RegisterCodec(c, kind); err != nil {
			tb.Fatal(err)
		}
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.SDESMidURI}, webrtc.RTPCodecTypeAudio); err != nil {
		tb.Fatal(err)
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		tb.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(string) bool { return false }) // no sockets: negotiation only
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
}
