package cascade

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

type nopWriter struct{}

func (nopWriter) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) { return len(b), nil }

// testKeys are fixed media-plane keys for tests that need no TLS session.
func testKeys(tb testing.TB) planeKeys {
	tb.Helper()
	m := make([]byte, 2*(keyLen+ivLen))
	for i := range m {
		m[i] = byte(i * 7)
	}
	var k planeKeys
	var err error
	if k.down, err = newDirKey(m[:keyLen], m[2*keyLen:2*keyLen+ivLen]); err != nil {
		tb.Fatal(err)
	}
	if k.up, err = newDirKey(m[keyLen:2*keyLen], m[2*keyLen+ivLen:]); err != nil {
		tb.Fatal(err)
	}
	return k
}

type nopProducer struct{}

func (nopProducer) WriteRTP(int, *rtp.Packet) error { return nil }
func (nopProducer) OnKeyframeRequest(func(int))     {}
func (nopProducer) Close()                          {}

// BenchmarkSendPath is the parent's per-packet cost: the core's WriteRTP
// into a layer sink, framing into the ring, and the sender goroutine
// sealing it in place (AES-128-GCM) and handing it to the socket (a no-op
// stand-in for the UDP write syscall).
func BenchmarkSendPath(b *testing.B) {
	snd := newSender(nopWriter{}, netip.MustParseAddrPort("127.0.0.1:9"), 512)
	snd.seal = sealer{key: testKeys(b).down, sid: 7}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = snd.run(ctx) }()
	sink := &layerSink{snd: snd, num: 1, layer: 0}
	h := rtp.Header{Version: 2, PayloadType: 96, SSRC: 1, Timestamp: 1}
	payload := make([]byte, 1100)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for i := 0; b.Loop(); i++ {
		h.SequenceNumber = uint16(i)
		for !snd.writeRTP(sink.num, sink.layer, &h, payload) {
			// ring full: let the sender drain (counts as a drop, retried here)
		}
	}
	cancel()
	<-done
}

// BenchmarkReceivePath is the child's per-packet cost after the socket
// read: authenticate and decrypt in place, replay check, parse, table
// lookup, loss tracking, RTP unmarshal into a reused packet, WriteRTP into
// the producer. Each iteration first copies a pre-sealed packet into the
// read buffer (decryption destroys it); laps over the packet set reset the
// replay window and loss trackers so every packet counts as new.
func BenchmarkReceivePath(b *testing.B) {
	s := &Subscription{producer: nopProducer{}}
	table := []*Subscription{nil, s}
	keys := testKeys(b)
	seal := sealer{key: keys.down, sid: 7}
	packets := make([][]byte, 1024)
	h := rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}
	payload := make([]byte, 1100)
	for i := range packets {
		buf := make([]byte, maxPlanePacket)
		h.SequenceNumber = uint16(i)
		n := marshalFrame(buf[planeHeaderLen:planeHeaderLen+maxFrameLen], 1, 0, &h, payload)
		packets[i] = seal.seal(buf, kindMedia, n)
	}
	cc := &childConn{plane: &planeCounters{}}
	cc.table.Store(&table)
	cc.down.Store(&opener{key: keys.down, sid: 7})
	rbuf := make([]byte, maxPlanePacket)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for i := 0; b.Loop(); i++ {
		k := i % len(packets)
		if k == 0 && i > 0 {
			cc.down.Load().win = replayWindow{}
			s.resetTrackers()
		}
		cc.handlePlane(rbuf[:copy(rbuf, packets[k])])
	}
	b.StopTimer()
	if st := cc.plane.snapshot(); st.Accepted != uint64(b.N) || st.Rejected+st.Replayed+st.BadFrames != 0 {
		b.Fatalf("plane stats %+v after %d packets", st, b.N)
	}
}

// BenchmarkLoopbackLink is end to end over the real media plane on
// loopback: ring, seal, UDP write and read, open, deliver.
func BenchmarkLoopbackLink(b *testing.B) {
	origin := newFakeOrigin()
	srv, err := Listen(ServerConfig{NodeID: "origin-1", Addr: "127.0.0.1:0", Auth: Auth{ClusterSecret: testSecret},
		Upstream: origin, Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	link, err := Dial(LinkConfig{NodeID: "edge-1", ParentAddr: srv.Addr().String(), Auth: Auth{ClusterSecret: testSecret}, Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer link.Close()
	prod := &countingProducer{}
	sub, _ := link.Subscribe("r", "TR_x", []int{0}, prod)
	<-sub.Ready()
	eventually(b, "attached", 5*time.Second, func() bool { return origin.attached("TR_x", 0) })
	origin.mu.Lock()
	sink := origin.sinks["TR_x/0"]
	origin.mu.Unlock()
	h := rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}
	payload := make([]byte, 1100)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for i := 0; b.Loop(); i++ {
		h.SequenceNumber = uint16(i)
		_, _ = sink.WriteRTP(&h, payload)
		if i%8 == 7 {
			time.Sleep(100 * time.Microsecond) // stay under the ring's size
		}
	}
	b.ReportMetric(float64(prod.n.Load())/float64(b.N), "delivered/op")
}

type countingProducer struct{ n atomicCounter }

func (p *countingProducer) WriteRTP(int, *rtp.Packet) error { p.n.Add(1); return nil }
func (p *countingProducer) OnKeyframeRequest(func(int))     {}
func (p *countingProducer) Close()                          {}

type atomicCounter = atomic.Int64
