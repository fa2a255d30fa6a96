package clip

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/classcast/classcast/recorder/fmp4x"
	"github.com/classcast/classcast/recorder/internal/testmedia"
	"github.com/classcast/classcast/recorder/trackwriter"
)

func recordFile(tb testing.TB, secs string) string {
	dir := tb.TempDir()
	now := time.Unix(1700000000, 0)
	w, err := trackwriter.New(trackwriter.Config{Dir: dir, Name: "v", Codec: fmp4x.CodecH264, Epoch: now,
		QueueSize: 8192, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	for _, p := range testmedia.H264Packets(tb, secs) {
		_, _ = w.WriteRTP(&p.Header, p.Payload)
		time.Sleep(20 * time.Microsecond)
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(dir, w.Parts()[0].File)
}

func TestCutAtKeyframe(t *testing.T) {
	testmedia.RequireFFmpeg(t)
	src, err := OpenSource(recordFile(t, "10"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	k, err := src.SyncAtOrBefore(5.3)
	if err != nil || k != 4.0 { // GOP of 50 frames at 25 fps: keyframes every 2 s
		t.Fatalf("keyframe at or before 5.3: %v %v", k, err)
	}
	dst := filepath.Join(t.TempDir(), "c.mp4")
	if err := src.Cut(dst, 5.3, 8.5, k); err != nil {
		t.Fatal(err)
	}
	p := testmedia.FFprobe(t, dst)
	s, d := testmedia.Seconds(p.Streams[0].StartTime), testmedia.Seconds(p.Format.Duration)
	if s != 0 || d < 4.4 || d > 4.6 || p.Streams[0].NbFrames != "113" {
		t.Fatalf("clip start %v duration %v frames %s", s, d, p.Streams[0].NbFrames)
	}
	testmedia.Decode(t, dst)
}

// BenchmarkCut cuts a 40 s span out of a 60 s recording; reports × real time.
func BenchmarkCut(b *testing.B) {
	testmedia.RequireFFmpeg(b)
	src, err := OpenSource(recordFile(b, "60"))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst := filepath.Join(b.TempDir(), "c.mp4")
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := src.Cut(dst, 10, 50, 10); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(40*float64(b.N)/time.Since(start).Seconds(), "x-realtime")
}
