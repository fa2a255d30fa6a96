package ingest

import (
	"errors"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

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
