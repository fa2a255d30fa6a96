package stats

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/classcast/classcast/client-sdk/go/media"
)

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	for i := 1; i <= 1000; i++ { // 1..1000 ms, uniform
		h.Record(time.Duration(i) * time.Millisecond)
	}
	cases := []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.95, 950 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}}
	for _, c := range cases {
		got := h.Quantile(c.q)
		if rel := math.Abs(float64(got-c.want)) / float64(c.want); rel > 0.035 {
			t.Errorf("p%v = %v, want %v ±3.5%%", c.q*100, got, c.want)
		}
	}
	if h.Max() != time.Second || h.Min() != time.Millisecond || h.Count() != 1000 {
		t.Errorf("max %v min %v count %d", h.Max(), h.Min(), h.Count())
	}
	if m := h.Mean(); m < 500*time.Millisecond || m > 501*time.Millisecond {
		t.Errorf("mean %v", m)
	}
	cdf := h.CDF()
	if len(cdf) == 0 || cdf[len(cdf)-1].Fraction != 1 || cdf[len(cdf)-1].Value != time.Second {
		t.Errorf("cdf end %+v", cdf[len(cdf)-1])
	}
	for i := 1; i < len(cdf); i++ {
		if cdf[i].Value < cdf[i-1].Value || cdf[i].Fraction < cdf[i-1].Fraction {
			t.Fatalf("cdf not monotonic at %d: %+v %+v", i, cdf[i-1], cdf[i])
		}
	}
}

func TestHistogramSmallAndMerge(t *testing.T) {
	var a, b Histogram
	if a.Quantile(0.5) != 0 || a.CDF() != nil {
		t.Fatal("empty histogram")
	}
	for range 99 {
		a.Record(10 * time.Microsecond) // linear buckets are exact
	}
	b.Record(time.Hour)
	a.Merge(&b)
	if got := a.Quantile(0.5); got != 10*time.Microsecond {
		t.Errorf("p50 %v", got)
	}
	if got := a.Quantile(1); got != time.Hour {
		t.Errorf("p100 %v", got)
	}
	if a.Count() != 100 {
		t.Errorf("count %d", a.Count())
	}
}

func TestBucketsCoverRange(t *testing.T) {
	prevHigh := int64(0)
	for i := range numBuckets {
		low, high := bucketBounds(i)
		if low != prevHigh || high <= low {
			t.Fatalf("bucket %d [%d,%d) after %d", i, low, high, prevHigh)
		}
		if bucketOf(low) != i || bucketOf(high-1) != i {
			t.Fatalf("bucket %d bounds map to %d,%d", i, bucketOf(low), bucketOf(high-1))
		}
		prevHigh = high
	}
}

// packetizer builds the RTP packets a subscriber would read for synthetic frames (one packet per
// frame, VP8 descriptor with S=1), with a controllable send time.
type packetizer struct {
	src  *media.SyntheticSource
	now  time.Time
	seq  uint16
	buf  []byte
	kind bool // video
}

func newPacketizer(video bool, start time.Time) *packetizer {
	p := &packetizer{now: start, kind: video, buf: make([]byte, 8000)}
	p.src = media.NewSyntheticSource(media.SyntheticConfig{
		Audio: !video, FPS: 25, Width: 640, Height: 360, FrameSize: 200, Now: func() time.Time { return p.now },
	})
	return p
}

// next returns the next frame's packet, sent at p.now.
func (p *packetizer) next() []byte {
	s, _ := p.src.NextSample()
	b := p.buf[:12]
	b[0], b[1] = 0x80, 0x80|96
	binary.BigEndian.PutUint16(b[2:], p.seq)
	p.seq++
	if p.kind {
		b = append(b, 0x10)
	}
	return append(b, s.Data...)
}

func TestRecorderLossJitterFreezesLatency(t *testing.T) {
	start := time.Unix(1000, 0)
	p := newPacketizer(true, start)
	r := NewRecorder(true, 0)
	arrival := start
	for i := range 100 {
		p.now = start.Add(time.Duration(i) * 40 * time.Millisecond)
		pkt := p.next()
		arrival = p.now.Add(20 * time.Millisecond)
		switch {
		case i == 10 || i == 11: // lost: two frames, two packets
			continue
		case i >= 50 && i < 65: // 600 ms without frames: one freeze
			continue
		}
		r.Observe(pkt, arrival)
	}
	s := r.Summary()
	if s.FramesLost != 17 || s.PacketsLost != 17 {
		t.Errorf("lost frames %d packets %d, want 17", s.FramesLost, s.PacketsLost)
	}
	if s.Freezes != 1 || s.FreezeTime != 640*time.Millisecond {
		t.Errorf("freezes %d (%v), want 1 (640ms)", s.Freezes, s.FreezeTime)
	}
	if s.Latency.Count() != 83 || s.Latency.Quantile(0.99) != 20*time.Millisecond {
		t.Errorf("latency n=%d p99=%v", s.Latency.Count(), s.Latency.Quantile(0.99))
	}
	if s.Jitter != 0 {
		t.Errorf("jitter %v with constant transit", s.Jitter)
	}
	if s.Width != 640 || s.Keyframes == 0 {
		t.Errorf("size %dx%d keyframes %d", s.Width, s.Height, s.Keyframes)
	}
	if loss := s.FrameLoss(); math.Abs(loss-0.17) > 1e-9 {
		t.Errorf("frame loss %v", loss)
	}
	if s.Bitrate() <= 0 || s.FirstFrame.IsZero() || !s.LastPacket.Equal(arrival) {
		t.Errorf("bitrate %v first %v last %v", s.Bitrate(), s.FirstFrame, s.LastPacket)
	}
}

func TestRecorderAudioJitterAndLateFrame(t *testing.T) {
	start := time.Unix(1000, 0)
	p := newPacketizer(false, start)
	r := NewRecorder(false, 0)
	var held []byte
	for i := range 50 {
		p.now = start.Add(time.Duration(i) * 20 * time.Millisecond)
		pkt := p.next()
		delay := 10 * time.Millisecond
		if i%2 == 1 {
			delay = 30 * time.Millisecond // alternating transit: jitter converges towards 20 ms
		}
		if i == 20 {
			held = append([]byte(nil), pkt...)
			continue
		}
		r.Observe(pkt, p.now.Add(delay))
		if i == 22 {
			r.Observe(held, p.now.Add(delay)) // late: fills the gap
		}
	}
	s := r.Summary()
	if s.FramesLost != 0 || s.PacketsLost != 0 {
		t.Errorf("late packet counted lost: frames %d packets %d", s.FramesLost, s.PacketsLost)
	}
	if s.Jitter < 10*time.Millisecond || s.Jitter > 20*time.Millisecond {
		t.Errorf("jitter %v", s.Jitter)
	}
	if s.Freezes != 0 {
		t.Errorf("audio freezes %d", s.Freezes)
	}
}

func TestRecorderLayerSwitchIsNotLoss(t *testing.T) {
	start := time.Unix(1000, 0)
	low, high := newPacketizer(true, start), newPacketizer(true, start)
	high.src = media.NewSyntheticSource(media.SyntheticConfig{FPS: 25, Width: 1280, Height: 720, Now: func() time.Time { return high.now }})
	for range 500 { // the high layer's sequence is far ahead
		high.next()
	}
	r := NewRecorder(true, 0)
	for i := range 25 {
		low.now = start.Add(time.Duration(i) * 40 * time.Millisecond)
		r.Observe(low.next(), low.now)
	}
	high.seq = low.seq // the SFU renumbers RTP across the switch
	high.now = low.now
	r.Observe(high.next(), high.now) // seq 500 is a keyframe (interval 25)
	s := r.Summary()
	if s.FramesLost != 0 || s.PacketsLost != 0 || s.Width != 1280 {
		t.Errorf("switch: lost %d/%d width %d", s.FramesLost, s.PacketsLost, s.Width)
	}
}

func TestParseRTPExtensionAndPadding(t *testing.T) {
	b := []byte{0xB1, 96, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, // V=2 P X CC=1
		0xBE, 0xDE, 0, 1, 1, 2, 3, 4, // one-word extension
		9, 9, 0, 2} // payload 9 9, two bytes of padding
	seq, payload, ok := ParseRTP(b)
	if !ok || seq != 7 || len(payload) != 2 || payload[0] != 9 {
		t.Fatalf("seq %d payload %v ok %v", seq, payload, ok)
	}
	if _, _, ok := ParseRTP(b[:18]); ok {
		t.Fatal("truncated extension accepted")
	}
}

func BenchmarkRecorderObserve(b *testing.B) {
	start := time.Now()
	p := newPacketizer(true, start)
	pkts := make([][]byte, 50)
	for i := range pkts {
		pkts[i] = append([]byte(nil), p.next()...)
	}
	r := NewRecorder(true, 0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r.Observe(pkts[i%len(pkts)], start)
	}
}
