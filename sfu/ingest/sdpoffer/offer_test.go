package sdpoffer

import (
	"context"
	"errors"
	"strings"
	"testing"

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
	o, err := Parse([]byte(seedOffer))
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Media) != 2 || o.Count(webrtc.RTPCodecTypeVideo, true) != 1 || o.Count(webrtc.RTPCodecTypeAudio, false) != 0 ||
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
		"duplicate mid":  strings.ReplaceAll(seedOffer, "a=mid:1", "a=mid:0"),
		"huge":           "v=0\r\n" + strings.Repeat("a=x\r\n", 20000),
	} {
		if _, err := Parse([]byte(body)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

const seedTrickle = "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n" +
	"a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\na=candidate:2 1 tcp 1671430143 127.0.0.1 9 typ host tcptype active\r\n" +
	"a=end-of-candidates\r\n"

func TestParseTrickle(t *testing.T) {
	f, err := ParseTrickle([]byte(seedTrickle))
	if err != nil {
		t.Fatal(err)
	}
	if f.Ufrag != "abcd" || len(f.Candidates) != 2 || *f.Candidates[0].SDPMid != "0" || !f.End ||
		!strings.HasPrefix(f.Candidates[1].Candidate, "candidate:2 ") {
		t.Fatalf("%+v", f)
	}
	noMid, err := ParseTrickle([]byte("a=candidate:1 1 udp 1 127.0.0.1 5 typ host\n"))
	if err != nil || noMid.Candidates[0].SDPMLineIndex == nil || *noMid.Candidates[0].SDPMLineIndex != 0 {
		t.Fatalf("%+v %v", noMid, err)
	}
	for name, body := range map[string]string{
		"short candidate": "a=candidate:1 1 udp\r\n",
		"not sdp":         "hello world\r\n",
		"huge":            strings.Repeat("a", MaxTrickle+1),
	} {
		if _, err := ParseTrickle([]byte(body)); !errors.Is(err, ErrInvalid) {
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
		o, err := Parse(b)
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
// check: a publisher peer connection with the SFU's codec table applies it
// and answers, within a time bound. Nothing may panic, every failure is
// ErrInvalid (or a timeout, which fails the target: pion must not stall on
// any offer), and a failed negotiation leaves its peer connection closed.
func FuzzWHIPOffer(f *testing.F) {
	for _, s := range seedOffers() {
		f.Add([]byte(s))
	}
	api := publisherAPI(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Parse(b); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error %v does not wrap ErrInvalid", err)
			}
			return
		}
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		ans, err := Answer(context.Background(), pc, string(b), Options{Timeout: fuzzNegotiateTimeout})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("negotiation: %v\noffer: %q", err, b)
			}
			if st := pc.ConnectionState(); st != webrtc.PeerConnectionStateClosed {
				t.Fatalf("peer connection left %s after %v", st, err)
			}
			return
		}
		defer pc.Close()
		_ = AcceptedSections(ans, true)
	})
}

// FuzzParseTrickle: PATCH bodies never panic the parser, and every
// candidate it returns names a section.
func FuzzParseTrickle(f *testing.F) {
	f.Add([]byte(seedTrickle))
	f.Add([]byte("a=candidate:1 1 udp 1 127.0.0.1 5 typ host\n"))
	f.Add([]byte("m=\na=candidate:\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseTrickle(b)
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
