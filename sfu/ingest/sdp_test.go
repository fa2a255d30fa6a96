package ingest

import (
	"errors"
	"strings"
	"testing"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

const seedOffer = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n" +
	"a=fingerprint:sha-256 0E:30:8E:BD:60:A8:4D:77:1F:AF:71:F9:3E:6E:2C:21:E7:9B:5D:47:2F:45:52:2F:A2:81:63:E0:6E:CA:06:4F\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=setup:actpass\r\na=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\na=sendonly\r\n" +
	"a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=setup:actpass\r\na=mid:1\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=sendonly\r\n"

func TestParseOffer(t *testing.T) {
	o, err := parseOffer([]byte(seedOffer))
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Media) != 2 || o.count(webrtc.RTPCodecTypeVideo, true) != 1 || o.count(webrtc.RTPCodecTypeAudio, false) != 0 ||
		o.Media[0].Codecs[0] != "VP8" || o.Media[1].Codecs[0] != "OPUS" {
		t.Fatalf("%+v", o)
	}
	for name, body := range map[string]string{
		"empty":          "",
		"not SDP":        "hello",
		"broken":         "v=0\r\nm=video\r\n",
		"no media":       "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
		"no fingerprint": strings.ReplaceAll(seedOffer, "a=fingerprint:", "a=x-fingerprint:"),
		"no mid":         strings.ReplaceAll(seedOffer, "a=mid:", "a=x-mid:"),
		"huge":           "v=0\r\n" + strings.Repeat("a=x\r\n", 20000),
	} {
		if _, err := parseOffer([]byte(body)); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

const seedTrickle = "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n" +
	"a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\na=candidate:2 1 tcp 1671430143 127.0.0.1 9 typ host tcptype active\r\n" +
	"a=end-of-candidates\r\n"

func TestParseTrickle(t *testing.T) {
	f, err := parseTrickle([]byte(seedTrickle))
	if err != nil {
		t.Fatal(err)
	}
	if f.Ufrag != "abcd" || len(f.Candidates) != 2 || *f.Candidates[0].SDPMid != "0" || !f.End ||
		!strings.HasPrefix(f.Candidates[1].Candidate, "candidate:2 ") {
		t.Fatalf("%+v", f)
	}
	noMid, err := parseTrickle([]byte("a=candidate:1 1 udp 1 127.0.0.1 5 typ host\n"))
	if err != nil || noMid.Candidates[0].SDPMLineIndex == nil || *noMid.Candidates[0].SDPMLineIndex != 0 {
		t.Fatalf("%+v %v", noMid, err)
	}
	for name, body := range map[string]string{
		"short candidate": "a=candidate:1 1 udp\r\n",
		"not sdp":         "hello world\r\n",
		"huge":            strings.Repeat("a", maxTrickle+1),
	} {
		if _, err := parseTrickle([]byte(body)); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzParseOffer: no input makes the offer check panic, and what it
// accepts has at least one audio/video section with a mid.
func FuzzParseOffer(f *testing.F) {
	f.Add([]byte(seedOffer))
	f.Add([]byte(strings.ReplaceAll(seedOffer, "a=sendonly", "a=recvonly")))
	f.Add([]byte("v=0\r\nm=video\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := parseOffer(b)
		if err != nil {
			return
		}
		for _, m := range o.Media {
			if m.Mid == "" {
				t.Fatalf("accepted a section without mid: %q", b)
			}
		}
	})
}

// FuzzWHIPOffer runs what a WHIP POST does with an offer that passed the
// check: pion applies it and answers (with the SFU's publisher codec
// table). Nothing may panic, whatever the offer says.
func FuzzWHIPOffer(f *testing.F) {
	f.Add([]byte(seedOffer))
	f.Add([]byte(strings.ReplaceAll(seedOffer, "VP8/90000", "H264/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=42e01f")))
	f.Add([]byte(strings.ReplaceAll(seedOffer, "a=sendonly", "a=simulcast:send q;h\r\na=rid:q send\r\na=rid:h send")))
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		f.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(string) bool { return false }) // no sockets: negotiation only
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := parseOffer(b); err != nil {
			return
		}
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		if pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(b)}) != nil {
			return
		}
		ans, err := pc.CreateAnswer(nil)
		if err != nil {
			return
		}
		_ = acceptedSections(ans.SDP, true)
	})
}

// FuzzParseTrickle: PATCH bodies never panic the parser, and every
// candidate it returns names a section.
func FuzzParseTrickle(f *testing.F) {
	f.Add([]byte(seedTrickle))
	f.Add([]byte("a=candidate:1 1 udp 1 127.0.0.1 5 typ host\n"))
	f.Add([]byte("m=\na=candidate:\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := parseTrickle(b)
		if err != nil {
			return
		}
		for _, c := range fr.Candidates {
			if c.SDPMid == nil && c.SDPMLineIndex == nil {
				t.Fatalf("candidate without section: %q", b)
			}
		}
	})
}

func TestAuth(t *testing.T) {
	a := NewAuth(map[string]string{"devkey": "secret"}, map[string]string{"lesson": "sk-1"})
	if a.Authorize(1, "lesson", "cam", "", "sk-1") != nil || a.Authorize(1, "other", "cam", "", "sk-1") == nil ||
		a.Authorize(2, "lesson", "cam", "", "sk-1") == nil {
		t.Fatal("stream key must publish in its room only, and never read")
	}
	if got := a.DigestSecrets(1, "lesson", "x"); len(got) != 1 || a.DigestSecrets(2, "lesson", "x") != nil {
		t.Fatalf("digest secrets %v", got)
	}
	if _, err := a.Publisher("", "lesson"); !errors.Is(err, ErrUnauthorized) {
		t.Fatal(err)
	}
}

// BenchmarkWHEPWriter: forwarding one video packet to a WHEP track (with
// its NACK cache) allocates nothing.
func BenchmarkWHEPWriter(b *testing.B) {
	local, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "v", "s")
	if err != nil {
		b.Fatal(err)
	}
	w := newWHEPWriter(local, true)
	h := &rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}
	if err := h.SetExtension(3, []byte{1, 2}); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 1200)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.SequenceNumber = uint16(i)
		if _, err := w.WriteRTP(h, payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGuardedProducer: the room-closed check in front of an ingest
// producer allocates nothing.
func BenchmarkGuardedProducer(b *testing.B) {
	g := &guardedProducer{Producer: nopProducer{}, done: make(chan struct{})}
	p := &rtp.Packet{Header: rtp.Header{Version: 2}, Payload: make([]byte, 1000)}
	b.ReportAllocs()
	for b.Loop() {
		if err := g.WriteRTP(0, p); err != nil {
			b.Fatal(err)
		}
	}
}

type nopProducer struct{}

func (nopProducer) WriteRTP(int, *rtp.Packet) error { return nil }
func (nopProducer) OnKeyframeRequest(func(int))     {}
func (nopProducer) Close()                          {}
