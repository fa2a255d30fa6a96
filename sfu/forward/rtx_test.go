package forward

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/sfu/track"

	"github.com/livekit/protocol/livekit"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// pace lets the writer goroutines keep up with a test feeding packets in a
// loop, as a real publisher's packets are spread in time; a burst would fill
// the writer queue and drop (the slow-subscriber policy), keyframes included.
func pace() { time.Sleep(50 * time.Microsecond) }

// forwardLow binds a down track on layer 0 and forwards until it has sent at
// least n media packets; it returns the track, its sink and the stream.
func forwardLow(t *testing.T, n int) (*DownTrack, *padSink, *vp8Stream) {
	t.Helper()
	f := newFanout(t, 0)
	d := NewDownTrack(f.up, livekit.VideoQuality_LOW)
	sink := &padSink{}
	if err := d.Bind(sink, 0x7777, 96, 0, 0); err != nil {
		t.Fatal(err)
	}
	s := newVP8Stream(MaxLayers)
	for len(sink.snapshot()) < n {
		l, raw, p := s.next()
		f.up.WriteRTP(l, raw, p)
		pace()
	}
	waitSent(t, sink, n)
	return d, sink, s
}

// TestRetransmitOnlyTheForwardedLayer: a NACK is answered only while the
// packet's layer is still the one forwarded. After a switch away (or a
// pause) the decoder waits for the new layer's keyframe; resending the old
// layer into the link that just proved too thin for it would only keep its
// queue full.
func TestRetransmitOnlyTheForwardedLayer(t *testing.T) {
	d, sink, s := forwardLow(t, 4)
	old := sink.snapshot()[3].seq
	if !d.Retransmit(old, &scratch{}) {
		t.Fatal("a NACK on the forwarded layer was not answered")
	}
	stale := testutil.ToFloat64(d.up.metrics.NACKsStale)
	d.SetPaused(PauseBandwidth, true)
	if d.Retransmit(old, &scratch{}) {
		t.Error("a NACK was answered while the track is paused")
	}
	d.SetPaused(PauseBandwidth, false)
	d.SetMaxLayer(1)
	for i := 0; d.CurrentLayer() != 1; i++ {
		if i > 10*keyframeEvery*8 {
			t.Fatal("never switched to layer 1")
		}
		l, raw, p := s.next()
		d.up.WriteRTP(l, raw, p)
		pace()
	}
	if d.Retransmit(old, &scratch{}) {
		t.Error("a NACK for layer 0 was answered after the switch to layer 1")
	}
	if got := testutil.ToFloat64(d.up.metrics.NACKsStale) - stale; got != 2 {
		t.Errorf("stale NACKs counted %v, want 2", got)
	}
}

// TestRetransmitBudget: with a retransmission rate set, NACKs beyond the
// budget are counted and not answered; without one, all are.
func TestRetransmitBudget(t *testing.T) {
	d, sink, _ := forwardLow(t, 24)
	sent := sink.snapshot()[:24]
	// 6 kB/s: a burst of one full-size packet (minRTXBurstBytes), then the rate.
	d.SetRetransmitRate(48_000)
	limited := testutil.ToFloat64(d.up.metrics.NACKsLimited)
	answered := 0
	for _, p := range sent {
		if d.Retransmit(p.seq, &scratch{}) {
			answered++
		}
	}
	if answered != 1 {
		t.Errorf("%d of %d NACKs answered in one burst at 48 kbit/s, want 1", answered, len(sent))
	}
	if got := testutil.ToFloat64(d.up.metrics.NACKsLimited) - limited; int(got) != len(sent)-answered {
		t.Errorf("limited NACKs counted %v, want %d", got, len(sent)-answered)
	}
	d.SetRetransmitRate(0)
	for _, p := range sent {
		if !d.Retransmit(p.seq, &scratch{}) {
			t.Fatalf("NACK for %d not answered without a budget", p.seq)
		}
	}
}

func TestRTXBudgetRefills(t *testing.T) {
	t.Parallel()
	var b rtxBudget
	b.setRate(80_000) // 10 kB/s: 2.5 kB burst
	now := int64(1_000_000_000)
	if !b.take(2000, now) || b.take(1000, now) {
		t.Fatal("burst: 2000 bytes then no 1000 more")
	}
	if !b.take(1000, now+100_000_000) { // 100 ms: +1000 bytes (+500 left)
		t.Fatal("not refilled after 100 ms")
	}
	if b.take(2000, now+200_000_000) {
		t.Fatal("refilled beyond the rate")
	}
	if !b.take(2400, now+10_000_000_000) || b.take(200, now+10_000_000_000) {
		t.Fatal("a long idle time must not pile up more than the burst")
	}
}

// TestKeyframeRequestRepeatedBeforeFirstForward: a subscription that starts
// after the publisher's keyframe went by waits for the next one. Its first
// request can be merged into another subscriber's (whose keyframe it
// missed), so it must keep asking while nothing is forwarded: browsers
// send keyframes only when asked.
func TestKeyframeRequestRepeatedBeforeFirstForward(t *testing.T) {
	var requests [MaxLayers]atomic.Int32
	up := NewUpTrack(UpTrackConfig{
		Info: track.Info{SID: "TR_kf", Kind: webrtc.RTPCodecTypeVideo, Simulcast: true,
			Codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}},
		Layers:          MaxLayers,
		RequestKeyframe: func(layer int) { requests[layer].Add(1) },
	})
	t.Cleanup(up.Close)
	s := newVP8Stream(MaxLayers)
	frame := func() { // one frame of every layer, 30 ms apart
		s.writeRound(up)
		time.Sleep(30 * time.Millisecond)
	}
	for range 3 { // the keyframe (frame 0) passes before anyone subscribes
		frame()
	}
	d := NewDownTrack(up, livekit.VideoQuality_LOW)
	if err := d.Bind(&padSink{}, 0x7777, 96, 0, 0); err != nil {
		t.Fatal(err)
	}
	for range 40 { // 1.2 s of frames without a keyframe
		frame()
	}
	if got := requests[0].Load(); got < 2 {
		t.Errorf("%d keyframe requests for layer 0 in 1.2 s of waiting, want it repeated", got)
	}
	if d.CurrentLayer() != -1 {
		t.Fatalf("test setup: forwarding without a keyframe (layer %d)", d.CurrentLayer())
	}
}
