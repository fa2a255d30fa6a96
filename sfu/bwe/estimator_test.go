package bwe

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
)

var base = time.Unix(1_700_000_000, 0)

func quietConfig() Config {
	return Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

type arrival struct {
	seq uint16
	at  time.Time
}

// wireFeedback builds TWCC feedback for arrivals with pion's recorder and
// round-trips it through the wire format.
func wireFeedback(t testing.TB, arrivals []arrival) []*rtcp.TransportLayerCC {
	t.Helper()
	rec := twcc.NewRecorder(0xfeed)
	for _, a := range arrivals {
		rec.Record(mediaSSRC, a.seq, a.at.UnixMicro())
	}
	var out []*rtcp.TransportLayerCC
	for _, p := range rec.BuildFeedbackPacket() {
		raw, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var fb rtcp.TransportLayerCC
		if err := fb.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, &fb)
	}
	return out
}

func TestParseMatchesRecorder(t *testing.T) {
	t.Parallel()
	for _, first := range []uint16{0, 1000, 65500} { // 65500: wraps
		var h sendHistory
		var arrivals []arrival
		for i := range 120 {
			seq := first + uint16(i)
			h.add(seq, base.Add(time.Duration(i)*5*time.Millisecond).UnixNano(), 1000+i, 0)
			if i%7 == 3 {
				continue // lost
			}
			arrivals = append(arrivals, arrival{seq, base.Add(40*time.Millisecond + time.Duration(i)*6*time.Millisecond)})
		}
		var p feedbackParser
		var got []packetResult
		for _, fb := range wireFeedback(t, arrivals) {
			res, err := p.parse(fb, &h)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, res...)
		}
		if len(got) != 120 {
			t.Fatalf("first %d: %d results, want 120", first, len(got))
		}
		firstArrival := got[0].arrivalNs
		for i, r := range got {
			if r.received != (i%7 != 3) || r.size != 1000+i {
				t.Fatalf("first %d, packet %d: %+v", first, i, r)
			}
			if !r.received {
				continue
			}
			want := int64(i) * int64(6*time.Millisecond)
			if d := r.arrivalNs - firstArrival - want; d < -250_000 || d > 250_000 {
				t.Fatalf("first %d, packet %d: arrival off by %d ns", first, i, d)
			}
		}
		// The same feedback again reports nothing new as received.
		for _, fb := range wireFeedback(t, arrivals) {
			res, _ := p.parse(fb, &h)
			for _, r := range res {
				if r.received {
					t.Fatalf("duplicate feedback counted again")
				}
			}
		}
	}
}

func TestParseInvalidFeedback(t *testing.T) {
	t.Parallel()
	var h sendHistory
	fb := &rtcp.TransportLayerCC{
		BaseSequenceNumber: 10, PacketStatusCount: 3,
		PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{
			PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 3,
		}},
		RecvDeltas: []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000}},
	}
	var p feedbackParser
	if _, err := p.parse(fb, &h); !errors.Is(err, ErrInvalidFeedback) {
		t.Fatalf("err %v", err)
	}
	e := New(quietConfig())
	if err := e.OnRTCP([]rtcp.Packet{fb}, base); !errors.Is(err, ErrInvalidFeedback) {
		t.Fatalf("OnRTCP err %v", err)
	}
}

func TestREMBFallback(t *testing.T) {
	t.Parallel()
	e := New(quietConfig())
	var changes []int
	e.OnChange(func(bps int) { changes = append(changes, bps) })
	now := base
	remb := &rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 500_000}
	if err := e.OnRTCP([]rtcp.Packet{remb}, now); err != nil {
		t.Fatal(err)
	}
	if e.Estimate() != 500_000 || e.Stats().Mode != ModeREMB {
		t.Fatalf("REMB: %d %v", e.Estimate(), e.Stats().Mode)
	}
	// 25 % loss in receiver reports cuts below REMB.
	rr := &rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{{FractionLost: 64}}}
	now = now.Add(time.Second)
	_ = e.OnRTCP([]rtcp.Packet{rr}, now)
	if got := e.Estimate(); got != 437_500 {
		t.Fatalf("after 25%% loss: %d, want 437500", got)
	}
	// Clean reports let it grow back, never above REMB.
	for range 5 {
		now = now.Add(time.Second)
		_ = e.OnRTCP([]rtcp.Packet{&rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{{FractionLost: 0}}}}, now)
	}
	if got := e.Estimate(); got != 500_000 {
		t.Fatalf("after clean reports: %d, want 500000", got)
	}
	if len(changes) != 3 || changes[0] != 500_000 || changes[1] != 437_500 || changes[2] != 500_000 {
		t.Fatalf("OnChange calls %v", changes)
	}
	// TWCC arrives: it takes over, and REMB is ignored while it is fresh.
	for i := range 10 {
		e.OnPacketSent(uint16(i), 1200, now.Add(time.Duration(i)*10*time.Millisecond))
	}
	var arr []arrival
	for i := range 10 {
		arr = append(arr, arrival{uint16(i), now.Add(20*time.Millisecond + time.Duration(i)*10*time.Millisecond)})
	}
	now = now.Add(200 * time.Millisecond)
	for _, fb := range wireFeedback(t, arr) {
		if err := e.OnTransportCC(fb, now); err != nil {
			t.Fatal(err)
		}
	}
	if e.Stats().Mode != ModeTWCC {
		t.Fatalf("mode %v", e.Stats().Mode)
	}
	before := e.Estimate()
	e.OnREMB(&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 50_000}, now.Add(time.Second))
	if e.Estimate() != before || e.Stats().Mode != ModeTWCC {
		t.Fatal("REMB must not override fresh TWCC")
	}
	e.OnREMB(&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 50_000}, now.Add(3*time.Second))
	if e.Estimate() != 50_000 || e.Stats().Mode != ModeREMB {
		t.Fatalf("stale TWCC: REMB takes over: %d %v", e.Estimate(), e.Stats().Mode)
	}
}

// probeRun sends a 500 ms probe cluster at 1 Mbit/s whose packets arrive
// spaced for arrivalBps, and returns the result.
func probeRun(t *testing.T, arrivalBps float64) ProbeResult {
	t.Helper()
	e := New(quietConfig())
	var got *ProbeResult
	e.OnProbeResult(func(r ProbeResult) { got = &r })
	now := base
	e.StartProbe(1_000_000, 500*time.Millisecond, now)
	const size = 1250 // 10 kbit
	var arr []arrival
	for i := range 50 { // 10 ms apart: 1 Mbit/s
		sent := now.Add(time.Duration(i) * 10 * time.Millisecond)
		e.OnPacketSent(uint16(i), size, sent)
		gap := time.Duration(float64(size*8) / arrivalBps * float64(time.Second))
		arr = append(arr, arrival{uint16(i), now.Add(30*time.Millisecond + time.Duration(i)*gap)})
	}
	now = now.Add(600 * time.Millisecond)
	for _, fb := range wireFeedback(t, arr) {
		if err := e.OnTransportCC(fb, now); err != nil {
			t.Fatal(err)
		}
	}
	if got == nil {
		t.Fatal("no probe result")
	}
	return *got
}

func TestProbeConfirmed(t *testing.T) {
	t.Parallel()
	r := probeRun(t, 1_000_000)
	if !r.Confirmed || r.MeasuredBps < 950_000 || r.MeasuredBps > 1_050_000 || r.ID != 1 {
		t.Fatalf("%+v", r)
	}
}

func TestProbeNotConfirmedOnSlowLink(t *testing.T) {
	t.Parallel()
	r := probeRun(t, 600_000)
	if r.Confirmed || r.ReceivedBps < 570_000 || r.ReceivedBps > 630_000 {
		t.Fatalf("%+v", r)
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	e := New(Config{})
	if e.Estimate() != 300_000 || e.cfg.MinBitrate != 30_000 || e.cfg.MaxBitrate != 10_000_000 {
		t.Fatalf("%+v", e.cfg)
	}
}

func BenchmarkOnPacketSent(b *testing.B) {
	e := New(quietConfig())
	now := base
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.OnPacketSent(uint16(i), 1200, now)
		i++
	}
}

// BenchmarkOnTransportCC feeds one feedback of 20 packets per op.
func BenchmarkOnTransportCC(b *testing.B) {
	e := New(quietConfig())
	const per = 20
	var fbs [][]*rtcp.TransportLayerCC
	for round := range 64 {
		var arr []arrival
		for i := range per {
			seq := uint16(round*per + i)
			arr = append(arr, arrival{seq, base.Add(time.Duration(round*per+i) * 5 * time.Millisecond)})
		}
		fbs = append(fbs, wireFeedback(b, arr))
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		round := n % 64
		if round == 0 {
			// Re-send the cycle's packets so every feedback finds them again.
			for i := range 64 * per {
				e.OnPacketSent(uint16(i), 1200, base.Add(time.Duration(n/64*64*per+i)*5*time.Millisecond))
			}
		}
		for _, fb := range fbs[round] {
			_ = e.OnTransportCC(fb, base.Add(time.Duration(n)*100*time.Millisecond))
		}
		n++
	}
}
