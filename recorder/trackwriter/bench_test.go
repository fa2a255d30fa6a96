package trackwriter

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/classcast/classcast/recorder/fmp4x"
	"github.com/classcast/classcast/recorder/internal/testmedia"
)

// BenchmarkWriteRTP is the SFU-side cost: copy into a slot, hand over.
func BenchmarkWriteRTP(b *testing.B) {
	testmedia.RequireFFmpeg(b)
	pkts := testmedia.H264Packets(b, "2")
	w, err := New(Config{Dir: b.TempDir(), Name: "b", Codec: fmp4x.CodecH264, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := pkts[i%len(pkts)]
		_, _ = w.WriteRTP(&p.Header, p.Payload)
		w.release(<-w.ready) // stand-in consumer: return the slot
	}
}

// BenchmarkRecordTrack is the whole per-track cost per packet: queue,
// jitter buffer, depacketizer, fMP4 fragments written to disk (without
// fsync, which is disk-bound and once per fragment).
func BenchmarkRecordTrack(b *testing.B) {
	testmedia.RequireFFmpeg(b)
	pkts := testmedia.H264Packets(b, "20")
	b.ReportAllocs()
	b.ResetTimer()
	var total int
	for n := 0; n < b.N; {
		w, err := New(Config{Dir: b.TempDir(), Name: "b", Codec: fmp4x.CodecH264, NoSync: true,
			QueueSize: 4096, Epoch: time.Now(), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()
		for _, p := range pkts {
			for len(w.free) == 0 {
				time.Sleep(10 * time.Microsecond)
			}
			_, _ = w.WriteRTP(&p.Header, p.Payload)
			n++
		}
		for len(w.free) < cap(w.free) {
			time.Sleep(10 * time.Microsecond)
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		total += len(pkts)
	}
	b.ReportMetric(float64(len(pkts))/20, "pkts/s-of-media")
}
