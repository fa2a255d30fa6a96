package forward

import (
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/sfu/track"
)

// seqSink records the sequence numbers and SSRCs it is given.
type seqSink struct {
	mu    sync.Mutex
	seqs  []uint16
	ssrcs map[uint32]bool
	empty int
}

func (s *seqSink) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	s.mu.Lock()
	s.seqs = append(s.seqs, h.SequenceNumber)
	s.ssrcs[h.SSRC] = true
	if len(payload) == 0 {
		s.empty++
	}
	s.mu.Unlock()
	return len(payload), nil
}

func (s *seqSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seqs)
}

func newSimulcastUp(t testing.TB) *UpTrack {
	t.Helper()
	up := NewUpTrack(UpTrackConfig{Info: track.Info{SID: "TR_raw", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}},
		Layers: MaxLayers})
	t.Cleanup(up.Close)
	return up
}

// TestAttachLayerRaw: a raw attachment gets exactly one layer's packets with
// the publisher's own sequence numbers, padding included as empty packets,
// next to an ordinary down track; detach stops it and RawLayers follows.
func TestAttachLayerRaw(t *testing.T) {
	up := newSimulcastUp(t)
	if _, err := up.AttachLayer(MaxLayers, &seqSink{}); err == nil {
		t.Fatal("attaching a layer the track does not have must fail")
	}
	raw := &seqSink{ssrcs: map[uint32]bool{}}
	detach, err := up.AttachLayer(1, raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := up.RawLayers(); got != 1<<1 {
		t.Fatalf("RawLayers = %b, want 10", got)
	}
	other := &countingSink{}
	att, err := up.Attach(other, track.AttachOptions{Quality: livekit.VideoQuality_HIGH})
	if err != nil {
		t.Fatal(err)
	}
	defer att.Close()

	s := newVP8Stream(MaxLayers)
	want := []uint16{}
	for i := 0; i < 300; i++ {
		l, raw, p := s.next()
		if l == 1 {
			want = append(want, p.SequenceNumber)
		}
		up.WriteRTP(l, raw, p)
		if i%20 == 0 {
			time.Sleep(time.Millisecond) // let the writers keep up
		}
	}
	// A padding-only probe on layer 1.
	pad := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: want[len(want)-1] + 1, SSRC: 0x1001}}
	up.WriteRTP(1, []byte{0x80, 0, 0, 0}, &pad)
	want = append(want, pad.SequenceNumber)

	deadline := time.Now().Add(2 * time.Second)
	for raw.count() < len(want) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	raw.mu.Lock()
	got := append([]uint16(nil), raw.seqs...)
	ssrcs, empty := len(raw.ssrcs), raw.empty
	raw.mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("raw attachment got %d packets, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("packet %d: seq %d, want %d (raw must not rewrite)", i, got[i], want[i])
		}
	}
	if ssrcs != 1 || empty != 1 {
		t.Fatalf("ssrcs %d (want 1: one layer), empty packets %d (want 1: the padding)", ssrcs, empty)
	}
	detach()
	detach() // idempotent
	if up.RawLayers() != 0 {
		t.Fatal("RawLayers after detach")
	}
	n := raw.count()
	l, b, p := s.next()
	up.WriteRTP(l, b, p)
	time.Sleep(20 * time.Millisecond)
	if raw.count() != n {
		t.Fatal("packets after detach")
	}
}

// BenchmarkAttachLayer is the cost of one raw attachment per packet (a
// cascade child on the top layer); it must not allocate.
func BenchmarkAttachLayer(b *testing.B) {
	up := newSimulcastUp(b)
	sink := &countingSink{}
	detach, err := up.AttachLayer(2, sink)
	if err != nil {
		b.Fatal(err)
	}
	defer detach()
	s := newVP8Stream(MaxLayers)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, raw, p := s.next()
		up.WriteRTP(l, raw, p)
		if i%32 == 0 {
			for len(up.layers[2].writers[0].ch) > 0 {
				time.Sleep(10 * time.Microsecond)
			}
		}
	}
}
