package bwe

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
)

// A deterministic simulation of one subscriber connection: a sender model
// (media at the estimate, probe padding now and then) → a bottleneck link
// (token bucket with a drop-tail queue, propagation delay, random loss) → a
// receiver that records arrivals and sends TWCC feedback built by pion's own
// twcc.Recorder, marshalled and parsed as on the wire.

const (
	simStep       = time.Millisecond
	packetSize    = 1200
	oneWayDelay   = 30 * time.Millisecond
	queueLimit    = 250 * time.Millisecond
	feedbackEvery = 100 * time.Millisecond
	mediaSSRC     = 0x1234
)

type phase struct {
	until   time.Duration
	rateBps float64
	loss    float64
	// queue is the drop-tail buffer, in time at rateBps (0: queueLimit).
	queue time.Duration
}

type simLink struct {
	rng       *rand.Rand
	busyUntil time.Time
}

type inFlight struct {
	seq     uint16
	arrival time.Time
}

type sample struct {
	at       time.Duration
	estimate int
	stats    Stats
	queue    time.Duration
}

type simResult struct {
	samples  []sample
	sentBits float64
	queueMax time.Duration
	probes   int
	probesOK int
}

// senderModel decides the send rate (media + padding) on every 1 ms step.
type senderModel interface {
	start(est *Estimator, res *simResult)
	rate(now time.Time, est *Estimator, res *simResult) float64
}

// sender is the greedy sender: media at the estimate, probing like the
// allocator does: only when it wants more than the estimate, only after the
// estimate has not dropped for 2 s, at 1.5× the estimate, backing off
// (doubling up to maxProbeInterval) while probes fail.
type sender struct {
	mediaMaxBps      float64
	probeInterval    time.Duration
	maxProbeInterval time.Duration
	probeDuration    time.Duration

	probeWait    time.Duration
	probeUntil   time.Time
	probeRate    float64
	lastProbe    time.Time
	lastDecrease time.Time
	lastEstimate int
}

func (snd *sender) start(est *Estimator, res *simResult) {
	snd.probeWait, snd.lastEstimate = snd.probeInterval, est.Estimate()
	est.OnProbeResult(func(r ProbeResult) {
		if r.Confirmed {
			res.probesOK++
			snd.probeWait = snd.probeInterval
		} else {
			snd.probeWait = min(2*snd.probeWait, snd.maxProbeInterval)
		}
	})
}

func (snd *sender) rate(now time.Time, est *Estimator, res *simResult) float64 {
	e := est.Estimate()
	if e < snd.lastEstimate {
		snd.lastDecrease = now
	}
	snd.lastEstimate = e
	// Media at the estimate (greedy: the allocator sends at most 95 % of
	// it), plus padding while probing.
	rate := min(float64(e), snd.mediaMaxBps)
	if snd.probeInterval > 0 && now.After(snd.probeUntil) && float64(e) < snd.mediaMaxBps &&
		now.Sub(snd.lastProbe) >= snd.probeWait && now.Sub(snd.lastDecrease) >= 2*time.Second {
		snd.probeRate = min(1.5*float64(e), snd.mediaMaxBps)
		est.StartProbe(int(snd.probeRate), snd.probeDuration, now)
		snd.probeUntil, snd.lastProbe = now.Add(snd.probeDuration), now
		res.probes++
	}
	if now.Before(snd.probeUntil) {
		rate = max(rate, snd.probeRate)
	}
	return rate
}

func simulate(t *testing.T, phases []phase, snd senderModel, cfg Config) simResult {
	t.Helper()
	start := time.Unix(1_700_000_000, 0)
	est := New(cfg)
	rec := twcc.NewRecorder(0xfeed)
	link := simLink{rng: rand.New(rand.NewPCG(42, 7))}
	var (
		res       simResult
		flights   []inFlight
		feedbacks []struct {
			at  time.Time
			pkt *rtcp.TransportLayerCC
		}
		seq          uint16
		credit       float64
		nextFeedback = start.Add(feedbackEvery)
		nextSample   time.Time
	)
	snd.start(est, &res)
	end := phases[len(phases)-1].until
	ph := 0
	for el := time.Duration(0); el < end; el += simStep {
		now := start.Add(el)
		for phases[ph].until <= el {
			ph++
		}
		rate := snd.rate(now, est, &res)
		credit += rate * simStep.Seconds() / 8
		for credit >= packetSize {
			credit -= packetSize
			est.OnPacketSent(seq, packetSize, now)
			res.sentBits += packetSize * 8
			// Link: serialise behind the queue; drop-tail; random loss after.
			p := phases[ph]
			depart := link.busyUntil
			if depart.Before(now) {
				depart = now
			}
			depart = depart.Add(time.Duration(float64(packetSize*8) / p.rateBps * float64(time.Second)))
			limit := queueLimit
			if p.queue > 0 {
				limit = p.queue
			}
			if q := depart.Sub(now); q <= limit {
				link.busyUntil = depart
				res.queueMax = max(res.queueMax, q)
				if link.rng.Float64() >= p.loss {
					flights = append(flights, inFlight{seq: seq, arrival: depart.Add(oneWayDelay)})
				}
			}
			seq++
		}
		// Receiver.
		kept := flights[:0]
		for _, f := range flights {
			if f.arrival.After(now) {
				kept = append(kept, f)
				continue
			}
			rec.Record(mediaSSRC, f.seq, f.arrival.UnixMicro())
		}
		flights = kept
		if !now.Before(nextFeedback) {
			nextFeedback = nextFeedback.Add(feedbackEvery)
			for _, pkt := range rec.BuildFeedbackPacket() {
				raw, err := pkt.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				var fb rtcp.TransportLayerCC
				if err := fb.Unmarshal(raw); err != nil {
					t.Fatal(err)
				}
				feedbacks = append(feedbacks, struct {
					at  time.Time
					pkt *rtcp.TransportLayerCC
				}{now.Add(oneWayDelay), &fb})
			}
		}
		for len(feedbacks) > 0 && !feedbacks[0].at.After(now) {
			if err := est.OnTransportCC(feedbacks[0].pkt, now); err != nil {
				t.Fatal(err)
			}
			feedbacks = feedbacks[1:]
		}
		if !now.Before(nextSample) {
			q := max(link.busyUntil.Sub(now), 0)
			res.samples = append(res.samples, sample{at: el, estimate: est.Estimate(), stats: est.Stats(), queue: q})
			nextSample = now.Add(100 * time.Millisecond)
		}
	}
	return res
}

// firstTime is when the estimate first satisfies ok at or after from (and -1 if never).
func (r simResult) firstTime(from time.Duration, ok func(int) bool) time.Duration {
	for _, s := range r.samples {
		if s.at >= from && ok(s.estimate) {
			return s.at
		}
	}
	return -1
}

// stats over [from, to): min, max, mean estimate.
func (r simResult) stats(from, to time.Duration) (lo, hi, mean int) {
	lo, n, sum := 1<<62, 0, 0
	for _, s := range r.samples {
		if s.at >= from && s.at < to {
			lo, hi = min(lo, s.estimate), max(hi, s.estimate)
			sum += s.estimate
			n++
		}
	}
	return lo, hi, sum / max(n, 1)
}

// meanQueue is the mean bottleneck queueing delay over [from, to).
func (r simResult) meanQueue(from, to time.Duration) time.Duration {
	var sum time.Duration
	n := 0
	for _, s := range r.samples {
		if s.at >= from && s.at < to {
			sum += s.queue
			n++
		}
	}
	return sum / time.Duration(max(n, 1))
}

func defaultSender() *sender {
	return &sender{
		mediaMaxBps: 3_000_000, probeInterval: 3 * time.Second, maxProbeInterval: 12 * time.Second, probeDuration: time.Second,
	}
}

func TestSimConvergesBelow300k(t *testing.T) {
	t.Parallel()
	r := simulate(t, []phase{{until: 30 * time.Second, rateBps: 300_000}}, defaultSender(), Config{InitialBitrate: 1_000_000})
	below := r.firstTime(0, func(e int) bool { return e <= 300_000 })
	lo, hi, mean := r.stats(10*time.Second, 30*time.Second)
	t.Logf("300k link from 1M: below cap at %v; 10–30 s: min %d max %d mean %d, mean queue %v; probes %d/%d ok",
		below, lo, hi, mean, r.meanQueue(10*time.Second, 30*time.Second), r.probesOK, r.probes)
	if below < 0 || below > 3*time.Second {
		t.Errorf("estimate below 300k at %v, want within 3 s", below)
	}
	if mean < 200_000 || mean > 300_000 || lo < 150_000 {
		t.Errorf("steady state 10–30 s: min %d mean %d, want mean in [200k, 300k], min ≥ 150k", lo, mean)
	}
	if q := r.meanQueue(10*time.Second, 30*time.Second); q > 100*time.Millisecond {
		t.Errorf("mean queueing delay %v: the estimate keeps the bottleneck queue full", q)
	}
}

func TestSimConvergesBelow80k(t *testing.T) {
	t.Parallel()
	r := simulate(t, []phase{{until: 30 * time.Second, rateBps: 80_000}}, defaultSender(), Config{})
	below := r.firstTime(0, func(e int) bool { return e <= 80_000 })
	lo, hi, mean := r.stats(10*time.Second, 30*time.Second)
	t.Logf("80k link from 300k: below cap at %v; 10–30 s: min %d max %d mean %d, mean queue %v; probes %d/%d ok",
		below, lo, hi, mean, r.meanQueue(10*time.Second, 30*time.Second), r.probesOK, r.probes)
	if below < 0 || below > 3*time.Second {
		t.Errorf("estimate below 80k at %v, want within 3 s", below)
	}
	if mean < 50_000 || mean > 85_000 {
		t.Errorf("steady state mean %d, want in [50k, 85k]", mean)
	}
}

func TestSimLossy2M(t *testing.T) {
	t.Parallel()
	r := simulate(t, []phase{{until: 40 * time.Second, rateBps: 2_000_000, loss: 0.05}}, defaultSender(), Config{})
	reach := r.firstTime(0, func(e int) bool { return e >= 1_400_000 })
	lo, hi, mean := r.stats(20*time.Second, 40*time.Second)
	t.Logf("2M link with 5%% random loss from 300k: ≥1.4M at %v; 20–40 s: min %d max %d mean %d, mean queue %v; probes %d/%d ok",
		reach, lo, hi, mean, r.meanQueue(20*time.Second, 40*time.Second), r.probesOK, r.probes)
	if reach < 0 || reach > 15*time.Second {
		t.Errorf("estimate reached 1.4M at %v, want within 15 s despite 5%% random loss", reach)
	}
	if mean < 1_300_000 || mean > 2_200_000 {
		t.Errorf("steady state mean %d, want in [1.3M, 2.2M]", mean)
	}
}

func TestSimCapLifted(t *testing.T) {
	t.Parallel()
	r := simulate(t, []phase{
		{until: 15 * time.Second, rateBps: 300_000},
		{until: 40 * time.Second, rateBps: 2_000_000},
	}, defaultSender(), Config{})
	below := r.firstTime(0, func(e int) bool { return e <= 300_000 })
	doubled := r.firstTime(15*time.Second, func(e int) bool { return e >= 600_000 }) - 15*time.Second
	reach := r.firstTime(15*time.Second, func(e int) bool { return e >= 1_200_000 }) - 15*time.Second
	lo, hi, mean := r.stats(30*time.Second, 40*time.Second)
	t.Logf("300k → 2M at 15 s: below 300k at %v; after the lift ≥600k at %v, ≥1.2M at %v; 30–40 s: min %d max %d mean %d; probes %d/%d ok",
		below, doubled, reach, lo, hi, mean, r.probesOK, r.probes)
	if doubled < 0 || doubled > 10*time.Second {
		t.Errorf("≥600k %v after the lift, want within 10 s", doubled)
	}
	if reach < 0 || reach > 15*time.Second {
		t.Errorf("≥1.2M %v after the lift, want within 15 s", reach)
	}
	if mean < 1_300_000 {
		t.Errorf("30–40 s mean %d, want ≥ 1.3M", mean)
	}
}

func TestSimCapDropped(t *testing.T) {
	t.Parallel()
	r := simulate(t, []phase{
		{until: 20 * time.Second, rateBps: 2_000_000},
		{until: 35 * time.Second, rateBps: 300_000},
	}, defaultSender(), Config{InitialBitrate: 1_500_000})
	below := r.firstTime(20*time.Second, func(e int) bool { return e <= 300_000 })
	t.Logf("2M → 300k at 20 s: below 300k %v after the drop; max queue %v", below-20*time.Second, r.queueMax)
	if below < 0 || below-20*time.Second > 3*time.Second {
		t.Errorf("below 300k %v after the drop, want within 3 s", below-20*time.Second)
	}
}
