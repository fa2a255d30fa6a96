package cascade

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// sealed returns a media-plane packet of kind carrying payload.
func sealed(s *sealer, kind byte, payload []byte) []byte {
	buf := make([]byte, maxPlanePacket)
	n := copy(buf[planeHeaderLen:], payload)
	return s.seal(buf, kind, n)
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := testKeys(t)
	s := sealer{key: k.down, sid: 0xdeadbeef}
	o := opener{key: k.down, sid: 0xdeadbeef}
	for i, payload := range [][]byte{{1, 2, 3}, bytes.Repeat([]byte{0xab}, maxPlainLen), nil} {
		p := sealed(&s, kindMedia, payload)
		if len(p) > maxPlanePacket || !isPlanePacket(p) {
			t.Fatalf("packet %d: len %d first byte %#x", i, len(p), p[0])
		}
		kind, got, res := o.open(p)
		if res != openOK || kind != kindMedia || !bytes.Equal(got, payload) {
			t.Fatalf("packet %d: kind %d res %d payload %x", i, kind, res, got)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	k := testKeys(t)
	mk := func() (*sealer, *opener) {
		return &sealer{key: k.down, sid: 5}, &opener{key: k.down, sid: 5}
	}
	payload := []byte("frame bytes, long enough to matter")

	t.Run("tampered", func(t *testing.T) {
		// Every byte is covered: header as additional data, body by the tag.
		for i := range planeHeaderLen + len(payload) + planeTagLen {
			s, o := mk()
			p := sealed(s, kindMedia, payload)
			p[i] ^= 0x01
			if _, _, res := o.open(p); res == openOK {
				t.Fatalf("flipped byte %d accepted", i)
			}
		}
	})
	t.Run("wrong session", func(t *testing.T) {
		s, _ := mk()
		o := &opener{key: k.down, sid: 6}
		if _, _, res := o.open(sealed(s, kindMedia, payload)); res != openBad {
			t.Fatalf("other session's packet: %d", res)
		}
	})
	t.Run("wrong direction key", func(t *testing.T) {
		s, _ := mk()
		o := &opener{key: k.up, sid: 5}
		if _, _, res := o.open(sealed(s, kindMedia, payload)); res != openBad {
			t.Fatalf("reflected packet: %d", res)
		}
	})
	t.Run("replay", func(t *testing.T) {
		s, o := mk()
		p := sealed(s, kindMedia, payload)
		again := bytes.Clone(p)
		if _, _, res := o.open(p); res != openOK {
			t.Fatal(res)
		}
		if _, _, res := o.open(again); res != openReplay {
			t.Fatalf("replayed packet: %d", res)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		s, o := mk()
		p := sealed(s, kindMedia, payload)
		for _, n := range []int{0, 1, planeHeaderLen, planeHeaderLen + planeTagLen - 1, len(p) - 1} {
			if _, _, res := o.open(bytes.Clone(p[:n])); res == openOK {
				t.Fatalf("%d of %d bytes accepted", n, len(p))
			}
		}
	})
	t.Run("forged counter does not move the window", func(t *testing.T) {
		s, o := mk()
		forged := sealed(s, kindMedia, payload)
		forged[12] = 0xff // counter far ahead, tag now wrong
		if _, _, res := o.open(forged); res != openBad {
			t.Fatal(res)
		}
		if _, _, res := o.open(sealed(s, kindMedia, payload)); res != openOK {
			t.Fatalf("genuine packet after a forgery: %d", res)
		}
	})
}

func TestReplayWindowEdges(t *testing.T) {
	var w replayWindow
	take := func(ctr uint64) bool {
		if !w.fresh(ctr) {
			return false
		}
		w.accept(ctr)
		return true
	}
	if take(0) {
		t.Fatal("counter 0 accepted")
	}
	if !take(1) || take(1) {
		t.Fatal("first counter")
	}
	if !take(5000) {
		t.Fatal("jump ahead refused")
	}
	oldest := uint64(5000 - replayWindowLen + 1)
	if take(oldest - 1) {
		t.Fatal("counter just outside the window accepted")
	}
	if !take(oldest) || take(oldest) {
		t.Fatal("oldest counter inside the window")
	}
	if !take(4999) || take(4999) || take(5000) {
		t.Fatal("late packet inside the window")
	}
	// Advancing by less than the window keeps what was seen in range and
	// frees the slots it reuses.
	if !take(5000 + replayWindowLen - 1) {
		t.Fatal("advance")
	}
	if take(4999) {
		t.Fatal("4999 forgotten while still in the window")
	}
	if !take(5000 + 10) {
		t.Fatal("slot reused from an old counter still marked")
	}
	// A jump of more than the window clears it.
	if !take(1<<40) || !take(1<<40-1) || take(1<<40-replayWindowLen) {
		t.Fatal("large jump")
	}
}

func TestNackRoundTrip(t *testing.T) {
	seqs := make([]uint16, 300)
	for i := range seqs {
		seqs[i] = uint16(65500 + i) // wraps
	}
	buf := make([]byte, maxNackLen)
	var got []uint16
	for rest := seqs; len(rest) > 0; {
		n, took := putNack(buf, 9, 2, rest)
		num, layer, count, ok := parseNack(buf[:n])
		if !ok || num != 9 || layer != 2 || count != took || took > maxNackSeqs {
			t.Fatalf("num %d layer %d count %d took %d ok %v", num, layer, count, took, ok)
		}
		for i := range count {
			got = append(got, nackSeq(buf, i))
		}
		rest = rest[took:]
	}
	if len(got) != len(seqs) || got[0] != 65500 || got[299] != seqs[299] {
		t.Fatalf("got %d seqs", len(got))
	}
	for _, bad := range [][]byte{nil, {0, 1, 0}, {0, 1, 0, 0}, {0, 1, 0, 2, 0, 1}} {
		if _, _, _, ok := parseNack(bad); ok {
			t.Fatalf("accepted %x", bad)
		}
	}
}

type recordingHandler struct{ got [][]byte }

func (h *recordingHandler) handlePlane(b []byte) { h.got = append(h.got, bytes.Clone(b)) }

// TestPlaneConnSplitsTraffic: media-plane packets go to the handler and are
// skipped by ReadFrom; everything else is returned to quic-go.
func TestPlaneConnSplitsTraffic(t *testing.T) {
	a, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	h := &recordingHandler{}
	pc := newPlaneConn(a, h)
	defer pc.Close()
	b, err := net.DialUDP("udp", nil, a.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, p := range [][]byte{{0x21, 1}, {0x3f, 2}, {0x00, 3}, {0x40, 4}, {0xc0, 5}} {
		if _, err := b.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, maxPlanePacket)
	_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []byte{0x40, 0xc0} {
		n, from, err := pc.ReadFrom(buf)
		if err != nil || n != 2 || buf[0] != want || from.String() != b.LocalAddr().String() {
			t.Fatalf("read %x from %v: %v", buf[:n], from, err)
		}
	}
	if len(h.got) != 3 || h.got[0][1] != 1 || h.got[2][1] != 3 {
		t.Fatalf("handler got %x", h.got)
	}
	// Deadlines reach the socket unwrapped, as quic-go's Close relies on.
	_ = pc.SetReadDeadline(time.Now())
	if _, _, err := pc.ReadFrom(buf); err == nil {
		t.Fatal("no deadline error")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("deadline error %v is not a net.Error timeout", err)
	}
}

// FuzzOpenPacket feeds arbitrary bytes to the child's media-plane entry
// point. A forged packet can never pass authentication, so the seeds
// include genuine packets (media, nack, unknown kind) to carry the fuzzer
// into the paths behind it; a fresh opener per input keeps it
// deterministic.
func FuzzOpenPacket(f *testing.F) {
	k := testKeys(f)
	s := sealer{key: k.down, sid: 7}
	buf := make([]byte, maxFrameLen)
	for _, c := range frameCases {
		h := rtp.Header{Version: 2, SequenceNumber: c.seq}
		f.Add(sealed(&s, kindMedia, buf[:marshalFrame(buf, c.num, c.layer, &h, c.pay)]))
	}
	n, _ := putNack(buf, 1, 0, []uint16{1, 2, 3})
	f.Add(sealed(&s, kindNack, buf[:n]))
	f.Add(sealed(&s, 0x1f, []byte("future kind")))
	f.Add([]byte{0x21, 0, 0, 0, 7})
	f.Add([]byte{0x40, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		sub := &Subscription{producer: newFakeProducer()}
		table := []*Subscription{nil, sub}
		cc := &childConn{plane: &planeCounters{}}
		cc.table.Store(&table)
		cc.down.Store(&opener{key: k.down, sid: 7})
		p := bytes.Clone(b)
		cc.handlePlane(p)
		st := cc.plane.snapshot()
		if st.Accepted+st.Rejected+st.Replayed != 1 {
			t.Fatalf("packet counted %+v", st)
		}
		// The same bytes again must never be accepted twice.
		if st.Accepted == 1 {
			cc.handlePlane(bytes.Clone(b))
			if cc.plane.snapshot().Replayed != 1 {
				t.Fatal("replay accepted")
			}
		}
	})
}
