package forward

import (
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
)

// padSink records what a down track writes: sequence numbers, whether each
// packet was padding only, and the SSRC.
type padSink struct {
	mu   sync.Mutex
	pkts []sentPacket
}

type sentPacket struct {
	seq     uint16
	ssrc    uint32
	padding bool
	marker  bool
}

func (s *padSink) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pad := h.Padding && len(payload) > 0 && int(payload[len(payload)-1]) == len(payload)
	s.pkts = append(s.pkts, sentPacket{seq: h.SequenceNumber, ssrc: h.SSRC, padding: pad, marker: h.Marker})
	return len(payload), nil
}

func (s *padSink) snapshot() []sentPacket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sentPacket(nil), s.pkts...)
}

func waitSent(t *testing.T, s *padSink, n int) []sentPacket {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if p := s.snapshot(); len(p) >= n {
			return p
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("the down track wrote %d packets, want %d", len(s.snapshot()), n)
	return nil
}

// TestSendPaddingOnMediaStream: probe padding goes out as padding-only
// packets on the media SSRC, numbered in sequence with the media, only
// between frames or while paused; the media after it continues the
// numbering without a gap, and a NACK for a padding number resends nothing.
func TestSendPaddingOnMediaStream(t *testing.T) {
	f := newFanout(t, 0)
	d := NewDownTrack(f.up, livekit.VideoQuality_LOW)
	sink := &padSink{}
	if err := d.Bind(sink, 0x7777, 96, 0, 0); err != nil {
		t.Fatal(err)
	}
	if d.CanPad() || d.SendPadding(1000) != 0 {
		t.Fatal("padded before any media: there is no numbering to continue")
	}
	s := newVP8Stream(MaxLayers)
	// Up to a frame boundary of layer 0 past the first keyframe.
	written := 0
	for {
		l, raw, p := s.next()
		f.up.WriteRTP(l, raw, p)
		if l == 0 {
			written++
			if written > 10 && p.Marker {
				break
			}
		}
	}
	sent := waitSent(t, sink, 1)
	for len(sent) < 4 { // the keyframe of layer 0 and what followed it
		sent = waitSent(t, sink, len(sent)+1)
	}
	time.Sleep(20 * time.Millisecond)
	media := sink.snapshot()
	last := media[len(media)-1]
	if !last.marker {
		t.Fatalf("test setup: the last packet forwarded did not end a frame: %+v", last)
	}
	if !d.CanPad() {
		t.Fatal("CanPad false after media")
	}
	n := d.SendPadding(3 * (maxPaddingPerPacket + 12))
	if n != 3*(maxPaddingPerPacket+12) {
		t.Fatalf("SendPadding sent %d bytes", n)
	}
	all := sink.snapshot()
	pads := all[len(media):]
	for i, p := range pads {
		if !p.padding || p.ssrc != 0x7777 || p.seq != last.seq+uint16(i)+1 {
			t.Fatalf("padding %d = %+v, want padding-only on SSRC 0x7777 with seq %d", i, p, last.seq+uint16(i)+1)
		}
	}
	// A NACK for a padding number has nothing to resend.
	before := len(all)
	if d.Retransmit(pads[0].seq, &scratch{}) {
		t.Fatal("a NACK for a padding number resent a packet")
	}
	if !d.Retransmit(last.seq, &scratch{}) {
		t.Fatal("a NACK for the last media packet resent nothing")
	}
	before++
	// The next media packet continues after the padding.
	for {
		l, raw, p := s.next()
		f.up.WriteRTP(l, raw, p)
		if l == 0 {
			break
		}
	}
	after := waitSent(t, sink, before+1)
	if got := after[before].seq; got != pads[len(pads)-1].seq+1 || after[before].padding {
		t.Fatalf("media after padding numbered %d (padding %v), want %d", got, after[before].padding, pads[len(pads)-1].seq+1)
	}
}
