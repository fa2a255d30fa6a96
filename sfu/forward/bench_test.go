package forward

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// BenchmarkForward is the server side of forwarding, end to end: one
// simulcast VP8 publisher (3 layers, 1,100-byte packets, keyframes, marker
// bits) written with UpTrack.WriteRTP, through the shared cache and the
// writer groups, to N down tracks (half on f, a quarter each on h and q)
// writing into sinks that only count. One op is one packet received; the
// figures to read are ns/fwd-pkt (wall time per packet delivered to one
// subscriber) and cpu-ns/fwd-pkt (process CPU per packet delivered, all
// cores). The producer is throttled to the writers' pace so that nothing
// is dropped: this measures forwarding, not the slow-subscriber policy.
func BenchmarkForward(b *testing.B) {
	for _, n := range []int{1, 10, 100, 600} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			f := newFanout(b, n)
			s := newVP8Stream(MaxLayers)
			// Warm up past the first keyframe so that every down track is
			// on its layer.
			for i := 0; i < 200; i++ {
				l, raw, p := s.next()
				f.up.WriteRTP(l, raw, p)
				f.throttle()
			}
			f.drain(0)
			before := f.sent()
			cpu0 := cpuNanos()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				l, raw, p := s.next()
				f.up.WriteRTP(l, raw, p)
				f.throttle()
			}
			f.drain(0)
			time.Sleep(time.Millisecond) // the last handles dequeued are being written
			f.drain(0)
			b.StopTimer()
			cpu := cpuNanos() - cpu0
			fwd := f.sent() - before
			if fwd == 0 {
				if b.N > 100 {
					b.Fatal("nothing forwarded")
				}
				return // a probing run too short to reach the subscriber's layer
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(fwd), "ns/fwd-pkt")
			b.ReportMetric(float64(cpu)/float64(fwd), "cpu-ns/fwd-pkt")
			b.ReportMetric(float64(fwd)/float64(b.N), "fwd/op")
		})
	}
}

// cpuNanos is the process's user+system CPU time.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
