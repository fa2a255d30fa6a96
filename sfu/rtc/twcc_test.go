package rtc

import (
	"bytes"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// bindTWCC binds a stream that negotiated transport-cc as id 5 on the
// interceptor built by f, writing into sink.
func bindTWCC(tb testing.TB, f interceptor.Factory, sink interceptor.RTPWriter) interceptor.RTPWriter {
	tb.Helper()
	i, err := f.NewInterceptor("")
	if err != nil {
		tb.Fatal(err)
	}
	info := &interceptor.StreamInfo{SSRC: 1, RTPHeaderExtensions: []interceptor.RTPHeaderExtension{
		{URI: "urn:ietf:params:rtp-hdrext:sdes:mid", ID: 1}, {URI: sdp.TransportCCURI, ID: 5},
	}}
	return i.BindLocalStream(info, sink)
}

// marshalSink keeps the last packet as it would go on the wire.
type marshalSink struct{ last []byte }

func (m *marshalSink) Write(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
	n, err := h.MarshalTo(m.last[:cap(m.last)])
	if err != nil {
		return 0, err
	}
	m.last = append(m.last[:n], payload...)
	return len(m.last), nil
}

// TestTWCCSeqMatchesPion: our interceptor puts the same bytes on the wire
// as pion's for the same packets (numbers across wraparound included), and
// does not allocate.
func TestTWCCSeqMatchesPion(t *testing.T) {
	pionF, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	a, b := &marshalSink{last: make([]byte, 0, 1500)}, &marshalSink{last: make([]byte, 0, 1500)}
	theirs := bindTWCC(t, pionF, a)
	ours := bindTWCC(t, twccSeqFactory{}, b)
	payload := bytes.Repeat([]byte{0xab}, 1100)
	var h1, h2 rtp.Header
	for i := 0; i < 70000; i++ {
		for _, h := range []*rtp.Header{&h1, &h2} {
			// Reset as the forward path does: extensions emptied, capacity kept.
			*h = rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(i), Timestamp: uint32(i * 3000),
				SSRC: 0x1234, Marker: i%3 == 0, Extensions: h.Extensions[:0]}
		}
		if _, err := theirs.Write(&h1, payload, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ours.Write(&h2, payload, nil); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.last, b.last) {
			t.Fatalf("packet %d differs:\npion %x\nours %x", i, a.last[:24], b.last[:24])
		}
	}
	h := rtp.Header{Version: 2, SSRC: 1}
	allocs := testing.AllocsPerRun(1000, func() {
		h.Extensions = h.Extensions[:0]
		_, _ = ours.Write(&h, payload, nil)
	})
	if allocs != 0 {
		t.Fatalf("twcc sequence interceptor allocates %.1f per packet", allocs)
	}
	if _, err := ours.Write(nil, payload, nil); err == nil {
		t.Fatal("nil header accepted")
	}
}

func TestTWCCSeqNotNegotiated(t *testing.T) {
	i, _ := twccSeqFactory{}.NewInterceptor("")
	sink := &marshalSink{last: make([]byte, 0, 1500)}
	w := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 1}, sink)
	if w != interceptor.RTPWriter(sink) {
		t.Fatal("stream without transport-cc must be written unchanged")
	}
}

// BenchmarkTWCCHeaderExtension compares pion's send-side transport-cc
// interceptor with ours, per packet, into a writer that does nothing.
func BenchmarkTWCCHeaderExtension(b *testing.B) {
	pionF, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		b.Fatal(err)
	}
	nop := interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil })
	for _, c := range []struct {
		name string
		f    interceptor.Factory
	}{{"pion", pionF}, {"classcast", twccSeqFactory{}}} {
		b.Run(c.name, func(b *testing.B) {
			w := bindTWCC(b, c.f, nop)
			payload := make([]byte, 1100)
			h := rtp.Header{Version: 2, SSRC: 1}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				h.Extensions = h.Extensions[:0]
				_, _ = w.Write(&h, payload, nil)
			}
		})
	}
}
