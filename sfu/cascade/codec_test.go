package cascade

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"
)

var frameCases = []struct {
	name  string
	num   uint16
	layer uint8
	seq   uint16
	pay   []byte
}{
	{"audio", 1, 0, 0, []byte{1, 2, 3}},
	{"video top layer", 65535, 3, 65535, bytes.Repeat([]byte{0xab}, 1200)},
	{"empty payload", 7, 1, 42, nil},
}

func TestFrameRoundTrip(t *testing.T) {
	buf := make([]byte, maxFrameLen)
	for _, c := range frameCases {
		t.Run(c.name, func(t *testing.T) {
			h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: c.seq, SSRC: 9, Marker: true}
			n := marshalFrame(buf, c.num, c.layer, &h, c.pay)
			num, layer, rtx, raw, err := parseFrame(buf[:n])
			if err != nil || num != c.num || layer != c.layer || rtx || rtpSeq(raw) != c.seq {
				t.Fatalf("got %d %d %v seq %d err %v", num, layer, rtx, rtpSeq(raw), err)
			}
			var p rtp.Packet
			if err := p.Unmarshal(raw); err != nil || !bytes.Equal(p.Payload, c.pay) || !p.Marker {
				t.Fatalf("rtp: %v", err)
			}
		})
	}
	if n := marshalFrame(buf[:100], 1, 0, &rtp.Header{Version: 2}, make([]byte, 200)); n != 0 {
		t.Fatal("oversize frame marshalled")
	}
	putFrameHeader(buf, 5, 2, true)
	if _, _, rtx, _, _ := parseFrame(buf[:20]); !rtx {
		t.Fatal("rtx flag lost")
	}
	for _, bad := range [][]byte{nil, {0x40, 0, 1, 0}, append([]byte{0x80, 0, 1, 0}, make([]byte, 12)...)} {
		if _, _, _, _, err := parseFrame(bad); !errors.Is(err, ErrBadFrame) {
			t.Fatalf("accepted %x", bad)
		}
	}
}

func FuzzParseFrame(f *testing.F) {
	buf := make([]byte, maxFrameLen)
	for _, c := range frameCases {
		h := rtp.Header{Version: 2, SequenceNumber: c.seq}
		f.Add(append([]byte(nil), buf[:marshalFrame(buf, c.num, c.layer, &h, c.pay)]...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r receiver
		s := &Subscription{producer: newFakeProducer()}
		r.deliver([]*Subscription{nil, s}, b, 1)
	})
}

var messageCases = []*message{
	{Type: msgHello, Node: "edge-1", Version: 1},
	{Type: msgSubscribe, ID: 3, Room: "r", Track: "TR_a", Layers: []int{0, 2}},
	{Type: msgPLI, Num: 4, Layer: 1},
	{Type: msgEvent, Event: &Event{Room: "r", Kind: EventData, Payload: []byte{0, 1, 2}}},
	{Type: msgPing, T: 123456789},
}

func TestControlRoundTrip(t *testing.T) {
	for _, m := range messageCases {
		var b bytes.Buffer
		if err := writeMessage(&b, m); err != nil {
			t.Fatal(err)
		}
		got, err := readMessage(&b)
		if err != nil || got.Type != m.Type || got.Num != m.Num || got.Layer != m.Layer || got.T != m.T {
			t.Fatalf("%s: got %+v err %v", m.Type, got, err)
		}
		if m.Event != nil && !bytes.Equal(got.Event.Payload, m.Event.Payload) {
			t.Fatalf("payload %v", got.Event.Payload)
		}
	}
	if _, err := readMessage(bytes.NewReader([]byte{0xff, 0, 0, 0})); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("huge length: %v", err)
	}
	if _, err := readMessage(bytes.NewReader([]byte{0, 0, 0, 2, '{', '}'})); !errors.Is(err, ErrBadMessage) {
		t.Fatalf("untyped message: %v", err)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, m := range messageCases {
		var b bytes.Buffer
		_ = writeMessage(&b, m)
		f.Add(b.Bytes()[4:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err == nil && m.Type == "" {
			t.Fatal("typeless message accepted")
		}
	})
}

func TestLossTracker(t *testing.T) {
	ms := int64(time.Millisecond)
	var tr lossTracker
	for _, seq := range []uint16{65533, 65534, 65535, 2, 3} { // wraps; 0 and 1 lost
		if !tr.onPacket(seq, 0) {
			t.Fatalf("%d reported duplicate", seq)
		}
	}
	if tr.onPacket(3, 0) || tr.onPacket(65534, 0) {
		t.Fatal("duplicates accepted")
	}
	if due := tr.scan(5*ms, 100*time.Millisecond, nil); len(due) != 0 {
		t.Fatalf("NACKed before the reorder grace: %v", due)
	}
	due := tr.scan(20*ms, 100*time.Millisecond, nil)
	if len(due) != 2 || due[0] != 0 || due[1] != 1 {
		t.Fatalf("due %v", due)
	}
	if due := tr.scan(60*ms, 100*time.Millisecond, nil); len(due) != 0 {
		t.Fatalf("retried before an RTT: %v", due)
	}
	if !tr.onPacket(1, 70*ms) { // retransmission arrives
		t.Fatal("recovered packet dropped")
	}
	if due := tr.scan(200*ms, 100*time.Millisecond, nil); len(due) != 1 || due[0] != 0 {
		t.Fatalf("retry %v", due)
	}
	tr.scan(int64(3*time.Second), 100*time.Millisecond, nil) // gives up on 0
	st := tr.stats()
	if st.Recovered != 1 || st.Abandoned != 1 || st.Missing != 0 || st.Received != 6 {
		t.Fatalf("stats %+v", st)
	}
	tr.onPacket(30000, 0) // a jump past the window is a restart, not 30k losses
	if st := tr.stats(); st.Missing != 0 {
		t.Fatalf("restart marked %d missing", st.Missing)
	}
}
