package bwe

import (
	"testing"
	"time"
)

func TestQueueMeter(t *testing.T) {
	t.Parallel()
	var q queueMeter
	ms := int64(time.Millisecond)
	offset := int64(5_000) * ms // arbitrary receiver clock offset
	if d := q.add(0, offset+20*ms); d != 0 {
		t.Fatalf("first packet: %v", d)
	}
	if d := q.add(10*ms, offset+10*ms+20*ms+150*ms); d != float64(150*ms) {
		t.Fatalf("150 ms queue: %v", time.Duration(d))
	}
	// Drift: the receiver clock runs 100 ppm fast for two minutes. The
	// baseline follows (windows of 30 s), so no fake standing queue grows.
	for s := int64(1); s <= 120; s++ {
		send := s * int64(time.Second)
		d := q.add(send, offset+20*ms+send+send/10_000)
		if d > float64(10*ms) {
			t.Fatalf("at %d s drift shows as %v of queue", s, time.Duration(d))
		}
	}
}
