package bwe

import (
	"testing"
	"time"
)

// fifo is a bottleneck: packets leave at rateBps in order, 20 ms after
// being serialised; with a limit, a packet that would wait longer is
// dropped (drop-tail).
type fifo struct {
	rateBps float64
	limit   time.Duration
	// overhead is what the link carries per packet beyond what the
	// estimator counts (IP, UDP, SRTP tag): small packets fill a link with
	// less payload.
	overhead int
	free     time.Time
}

func (f *fifo) pass(sent time.Time, size int) (time.Time, bool) {
	start := f.free
	if start.Before(sent) {
		start = sent
	}
	if f.limit > 0 && start.Sub(sent) > f.limit {
		return time.Time{}, false
	}
	f.free = start.Add(time.Duration(float64((size+f.overhead)*8) / f.rateBps * float64(time.Second)))
	return f.free.Add(20 * time.Millisecond), true
}

// send records n packets of size bytes, every gap from start, first seq
// first, through link (nil: the packet is lost when drop(i) says so, else it
// arrives 20 ms later).
func send(e *Estimator, link *fifo, first uint16, n int, start time.Time, gap time.Duration, size int, drop func(i int) bool) []arrival {
	var out []arrival
	for i := range n {
		sent := start.Add(time.Duration(i) * gap)
		e.OnPacketSent(first+uint16(i), size, sent)
		switch {
		case drop != nil && drop(i):
		case link != nil:
			if at, ok := link.pass(sent, size); ok {
				out = append(out, arrival{first + uint16(i), at})
			}
		default:
			out = append(out, arrival{first + uint16(i), sent.Add(20 * time.Millisecond)})
		}
	}
	return out
}

// report delivers feedback for arr in groups of per packets, each group
// 20 ms after its last arrival (as a receiver reporting every few packets).
func report(t *testing.T, e *Estimator, arr []arrival, per int) {
	t.Helper()
	for lo := 0; lo < len(arr); lo += per {
		hi := min(lo+per, len(arr))
		for _, fb := range wireFeedback(t, arr[lo:hi]) {
			if err := e.OnTransportCC(fb, arr[hi-1].at.Add(20*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Packets sent before the estimate was cut, and lost in the queue that
// caused the cut, are reported one queue-length later. Their loss must not
// cut again: the first cut already answered it.
func TestLossOfPacketsSentBeforeACutDoesNotCutAgain(t *testing.T) {
	t.Parallel()
	e := New(Config{InitialBitrate: 2_000_000, Logger: quietConfig().Logger})
	// 300 packets at 2 Mbit/s over 1.5 s; the link drops 3 of 4 and the
	// first report arrives only when all were sent (a deep queue). The delay
	// is flat, so loss alone decides.
	lossy := func(i int) bool { return i%4 != 0 }
	arr := send(e, nil, 0, 300, base, 5*time.Millisecond, 1250, lossy)
	late := 1500 * time.Millisecond
	for i := range arr {
		arr[i].at = arr[i].at.Add(late)
	}
	report(t, e, arr[:25], 25) // packets 0–99: cut
	cut := e.Estimate()
	if cut >= 2_000_000 {
		t.Fatalf("75%% loss did not cut: %d", cut)
	}
	report(t, e, arr[25:], 25) // packets 100–299, all sent before the cut
	if got := e.Estimate(); got < cut {
		t.Errorf("estimate %d after reports of packets sent before the cut, want ≥ %d", got, cut)
	}
	// Packets sent after the cut count again.
	after := arr[len(arr)-1].at.Add(20 * time.Millisecond)
	arr = send(e, nil, 300, 200, after, 5*time.Millisecond, 1250, lossy)
	report(t, e, arr, 25)
	if got := e.Estimate(); got >= cut {
		t.Errorf("new loss after the cut ignored: %d, want < %d", got, cut)
	}
}

// A deep drop-tail buffer takes seconds to drain after the cut that
// answered it. While the standing queue shrinks, the estimate holds; when
// it stops shrinking, the link is still over-full and it is cut again.
func TestDrainingStandingQueueIsNotCutAgain(t *testing.T) {
	t.Parallel()
	e := New(Config{InitialBitrate: 1_000_000, Logger: quietConfig().Logger})
	link := &fifo{rateBps: 500_000, overhead: 100}
	// 0.6 s at 1 Mbit/s into 500 kbit/s: the queue grows to ~650 ms.
	arr := send(e, link, 0, 60, base, 10*time.Millisecond, 1250, nil)
	report(t, e, arr, 5)
	cut := e.Estimate()
	if cut >= 1_000_000 {
		t.Fatalf("growing queue did not cut: %d", cut)
	}
	// Now mostly small packets (audio, the lowest layer) at 160 kbit/s:
	// the queue drains, standing for another second, while the receive
	// rate of what the estimator counts falls to 2/3 of the link (the rest
	// is per-packet overhead). A second cut would follow it down.
	arr = send(e, link, 60, 100, base.Add(600*time.Millisecond), 10*time.Millisecond, 200, nil)
	report(t, e, arr, 6)
	if q := e.Stats().QueueDelay; q < standingQueueNs/2 {
		t.Logf("queue at the end of the drain: %v", q)
	}
	if got := e.Estimate(); got < cut*95/100 {
		t.Errorf("estimate %d while the queue drained, want ≈ %d (no second cut)", got, cut)
	}
	held := e.Estimate()
	// Cross traffic takes the link down to 300 kbit/s while we send at the
	// estimate: the buffer (full at its 300 ms limit) drops the excess and
	// the delay stays flat at the limit — standing, not draining.
	link.rateBps, link.limit = 300_000, 300*time.Millisecond
	gap := time.Duration(float64(1250*8) / float64(held) * float64(time.Second))
	arr = send(e, link, 160, 100, base.Add(1600*time.Millisecond), gap, 1250, nil)
	report(t, e, arr, 4)
	if q := e.Stats().QueueDelay; q < standingQueueNs {
		t.Fatalf("test setup: queue %v is not standing", q)
	}
	if got := e.Estimate(); got > held*80/100 {
		t.Errorf("flat standing queue not cut: %d, want ≤ 0.8 × %d", got, held)
	}
}

// A confirmed probe holds the estimate up for a while (so a thin stream
// cannot undo it at the next delay wobble) — but not through a standing
// queue: that is the link changing, and the cut must come at once.
func TestStandingQueueReleasesProbeFloor(t *testing.T) {
	t.Parallel()
	e := New(Config{InitialBitrate: 500_000, Logger: quietConfig().Logger})
	var res *ProbeResult
	e.OnProbeResult(func(r ProbeResult) { res = &r })
	link := &fifo{rateBps: 10_000_000}
	e.StartProbe(2_000_000, 500*time.Millisecond, base)
	arr := send(e, link, 0, 100, base, 5*time.Millisecond, 1250, nil) // 2 Mbit/s
	report(t, e, arr, 10)
	if res == nil || !res.Confirmed || e.Estimate() < 1_800_000 {
		t.Fatalf("probe: %+v, estimate %d", res, e.Estimate())
	}
	// Within the floor's hold the link drops to 300 kbit/s behind a deep
	// buffer: the queue stands at once.
	link.rateBps, link.limit = 300_000, 600*time.Millisecond
	arr = send(e, link, 100, 60, base.Add(500*time.Millisecond), 5*time.Millisecond, 1250, nil)
	report(t, e, arr, 5)
	if got := e.Estimate(); got > 1_000_000 {
		t.Errorf("estimate %d under a standing queue right after a probe, want a cut toward 300k", got)
	}
}

// A failed probe on a thin link fills its buffer: that standing queue is the
// probe's own, and the estimate must not be cut below where it was before
// the probe — on the shaped 300 kbit/s link each failed probe used to cut it
// under the lowest layer and pause the camera.
func TestFailedProbeQueueKeepsTheFloor(t *testing.T) {
	t.Parallel()
	e := New(Config{InitialBitrate: 250_000, Logger: quietConfig().Logger})
	var res *ProbeResult
	e.OnProbeResult(func(r ProbeResult) { res = &r })
	link := &fifo{rateBps: 300_000, limit: 640 * time.Millisecond, overhead: 100}
	// Small packets (audio, the lowest layer): a quarter of what the link
	// carries is per-packet overhead, so 0.85 × the acknowledged rate is
	// well below the estimate.
	arr := send(e, link, 0, 100, base, 10*time.Millisecond, 300, nil) // 240 kbit/s, 1 s
	report(t, e, arr, 10)
	before := e.Estimate()
	t1 := base.Add(time.Second)
	e.StartProbe(3*before, 600*time.Millisecond, t1)
	arr = send(e, link, 100, 187, t1, 3200*time.Microsecond, 300, nil) // 750 kbit/s for 600 ms
	arr = append(arr, send(e, link, 287, 300, t1.Add(600*time.Millisecond), 10*time.Millisecond, 300, nil)...)
	report(t, e, arr, 5)
	if res == nil || res.Confirmed {
		t.Fatalf("test setup: probe result %+v", res)
	}
	if got := e.Estimate(); got < before*9/10 {
		t.Errorf("estimate %d after a failed probe's own queue, want ≥ 0.9 × %d", got, before)
	}
}
