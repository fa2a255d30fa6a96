package bwe

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtp"
)

// These benchmarks document why pion's GCC is not on our send path (see
// DESIGN.md): they measure the allocations GCC's per-packet send hook costs,
// with its default LeakyBucketPacer and with its NoOpPacer.

const twccExtID = 5

type discardWriter struct{}

func (discardWriter) Write(h *rtp.Header, p []byte, _ interceptor.Attributes) (int, error) {
	return len(p), nil
}

func benchmarkGCCSend(b *testing.B, pacer gcc.Pacer) {
	b.Helper()
	opts := []gcc.Option{gcc.SendSideBWEInitialBitrate(300_000)}
	if pacer != nil {
		opts = append(opts, gcc.SendSideBWEPacer(pacer))
	}
	bwe, err := gcc.NewSendSideBWE(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = bwe.Close() }()
	info := &interceptor.StreamInfo{
		SSRC: 1234,
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{
			{URI: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", ID: twccExtID},
		},
	}
	w := bwe.AddStream(info, discardWriter{})
	hdr := &rtp.Header{Version: 2, PayloadType: 96, SSRC: 1234}
	ext := make([]byte, 2)
	if err := hdr.SetExtension(twccExtID, ext); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 1100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		hdr.SequenceNumber = uint16(i)
		ext[0], ext[1] = byte(i>>8), byte(i)
		_ = hdr.SetExtension(twccExtID, ext)
		// pion/webrtc's interceptorToTrackLocalWriter passes nil attributes.
		if _, err := w.Write(hdr, payload, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGCCSendNoOpPacer(b *testing.B)        { benchmarkGCCSend(b, gcc.NewNoOpPacer()) }
func BenchmarkGCCSendLeakyBucketPacer(b *testing.B) { benchmarkGCCSend(b, nil) }

// BenchmarkInterceptorSend is the same per-packet path through our own
// interceptor, for comparison.
func BenchmarkInterceptorSend(b *testing.B) {
	i, err := NewInterceptorFactory(quietConfig(), nil).NewInterceptor("pc")
	if err != nil {
		b.Fatal(err)
	}
	info := &interceptor.StreamInfo{
		SSRC:                1234,
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: TransportCCURI, ID: twccExtID}},
	}
	w := i.BindLocalStream(info, discardWriter{})
	hdr := &rtp.Header{Version: 2, PayloadType: 96, SSRC: 1234}
	ext := make([]byte, 2)
	if err := hdr.SetExtension(twccExtID, ext); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 1100)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		hdr.SequenceNumber = uint16(n)
		ext[0], ext[1] = byte(n>>8), byte(n)
		_ = hdr.SetExtension(twccExtID, ext)
		if _, err := w.Write(hdr, payload, nil); err != nil {
			b.Fatal(err)
		}
		n++
	}
}
