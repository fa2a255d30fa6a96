package cascade

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

type nopDatagrams struct{}

func (nopDatagrams) SendDatagram([]byte) error { return nil }

type nopProducer struct{}

func (nopProducer) WriteRTP(int, *rtp.Packet) error { return nil }
func (nopProducer) OnKeyframeRequest(func(int))     {}
func (nopProducer) Close()                          {}

// BenchmarkSendPath is the parent's per-packet cost: the core's WriteRTP
// into a layer sink, framing into the ring, and the sender goroutine
// handing the frame to the connection (a no-op stand-in for quic-go, whose
// own SendDatagram allocates a frame and a copy per call).
func BenchmarkSendPath(b *testing.B) {
	snd := newSender(nopDatagrams{}, 512)
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

// BenchmarkReceivePath is the child's per-packet cost after quic-go hands
// over a datagram: parse, table lookup, loss tracking, RTP unmarshal into a
// reused packet, WriteRTP into the producer.
func BenchmarkReceivePath(b *testing.B) {
	s := &Subscription{producer: nopProducer{}}
	table := []*Subscription{nil, s}
	frames := make([][]byte, 1024)
	h := rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}
	payload := make([]byte, 1100)
	for i := range frames {
		frames[i] = make([]byte, maxFrameLen)
		h.SequenceNumber = uint16(i)
		frames[i] = frames[i][:marshalFrame(frames[i], 1, 0, &h, payload)]
	}
	var r receiver
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for i := 0; b.Loop(); i++ {
		f := frames[i%len(frames)]
		// Keep sequence numbers advancing across laps of the frame set.
		f[frameHeaderLen+2], f[frameHeaderLen+3] = byte(i>>8), byte(i)
		r.deliver(table, f, int64(i))
	}
}

// BenchmarkLoopbackLink is end to end over real QUIC on loopback,
// including quic-go's own per-datagram allocations.
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
			time.Sleep(100 * time.Microsecond) // stay under the congestion window
		}
	}
	b.ReportMetric(float64(prod.n.Load())/float64(b.N), "delivered/op")
}

type countingProducer struct{ n atomicCounter }

func (p *countingProducer) WriteRTP(int, *rtp.Packet) error { p.n.Add(1); return nil }
func (p *countingProducer) OnKeyframeRequest(func(int))     {}
func (p *countingProducer) Close()                          {}

type atomicCounter = atomic.Int64
