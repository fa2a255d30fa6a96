package room

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtcp"

	"github.com/classcast/classcast/sfu/allocator"
	"github.com/classcast/classcast/sfu/bwe"
	"github.com/classcast/classcast/sfu/forward"
)

const (
	unlimitedBps = 100_000_000
	allocEvery   = 200 * time.Millisecond
	paddingEvery = 20 * time.Millisecond
	qualityEvery = 2 * time.Second
	// rtxShare: retransmission budget per video track, as a fraction of
	// the bitrate allocated to it.
	rtxShare = 0.25
	// rtxSpareMaxQueue: above this queueing delay the unused estimate is
	// not offered to retransmissions.
	rtxSpareMaxQueue = 30 * time.Millisecond
)

// bandwidth is a subscriber's adaptation loop: it divides the connection's
// estimate over the subscribed tracks (sfu/allocator), applies the layers and
// pauses to the down tracks, sends probe padding, feeds dynacast, and reports
// connection quality. One goroutine per participant, owning the allocator.
type bandwidth struct {
	p     *Participant
	est   *bwe.Estimator
	alloc *allocator.Subscriber
	poke  chan struct{}
	fn    chan func()
	quit  chan struct{}
	done  chan struct{}

	probeUntil time.Time
	probeBps   int
	lastQ      time.Time

	// snapshot for /metrics and the admin API.
	mu   sync.Mutex
	last Snapshot
}

// Snapshot is what the allocator decided last, for metrics and admin.
type Snapshot struct {
	EstimateBps int             `json:"estimate_bps"`
	AllowedBps  int             `json:"allowed_bps"`
	Quality     string          `json:"quality"`
	Tracks      []TrackSnapshot `json:"tracks"`
}

// TrackSnapshot is one subscribed track's allocation.
type TrackSnapshot struct {
	TrackSID string `json:"track_sid"`
	Spatial  int    `json:"spatial"`
	Temporal int    `json:"temporal"`
	Current  int    `json:"current_spatial"`
	Paused   bool   `json:"paused"`
	Reasons  string `json:"pause_reasons"`
}

func newBandwidth(p *Participant, est *bwe.Estimator) *bandwidth {
	b := &bandwidth{p: p, est: est, alloc: allocator.NewSubscriber(allocator.SubscriberConfig{
		// Probe toward what the subscriber wants in few steps: a classroom
		// asking for the teacher at 720p should not wait for ×2 ladders.
		// While a link stays bad a probe fails every MaxProbeBackoff (a
		// 600 ms burst of padding); when it gets better, that is how long
		// a paused camera may wait to notice — kept well under the 10 s
		// recovery target.
		ProbeMultiplier: 3, ProbeBackoff: 2 * time.Second, MaxProbeBackoff: 4 * time.Second,
		// Recovery from a pause to the top layer takes three probes
		// (lowest layer, middle, top); each costs a probe and a settle.
		// 600 ms of padding is still 50+ packets at 700 kbit/s, and a
		// second of the upgraded layer shows in ten feedback reports.
		ProbeDuration: 600 * time.Millisecond, ProbeSettle: time.Second,
		// After a failed probe: ~60 padding packets at 250 kbit/s, and a
		// third of the overfill on a link that is still thin.
		RetryProbeDuration: 200 * time.Millisecond,
	}),
		poke: make(chan struct{}, 1), fn: make(chan func(), 8), quit: make(chan struct{}), done: make(chan struct{})}
	est.OnChange(func(int) { b.kick() })
	est.OnProbeResult(func(r bwe.ProbeResult) {
		p.log.Debug("probe result", "target", r.TargetBps, "sent", r.SentBps, "received", r.ReceivedBps,
			"packets_sent", r.PacketsSent, "packets_received", r.PacketsReceived, "confirmed", r.Confirmed)
		b.post(func() { b.alloc.OnProbeResult(time.Now(), r.Confirmed) })
	})
	return b
}

// post runs f on the loop (estimator callbacks arrive on pion goroutines).
func (b *bandwidth) post(f func()) {
	select {
	case b.fn <- f:
	default:
	}
}

func (b *bandwidth) kick() {
	select {
	case b.poke <- struct{}{}:
	default:
	}
}

func (b *bandwidth) start() { go b.run() }

func (b *bandwidth) stop() {
	close(b.quit)
	<-b.done
}

func (b *bandwidth) run() {
	defer close(b.done)
	alloc := time.NewTicker(allocEvery)
	defer alloc.Stop()
	pad := time.NewTicker(paddingEvery)
	defer pad.Stop()
	for {
		select {
		case <-b.quit:
			return
		case f := <-b.fn:
			f()
		case <-b.poke:
			b.allocate(time.Now())
		case now := <-alloc.C:
			b.allocate(now)
			b.p.updateDynacast(now)
		case now := <-pad.C:
			b.sendPadding(now)
		}
	}
}

// allocate runs one allocation round and applies it.
func (b *bandwidth) allocate(now time.Time) {
	subs := b.p.subscriptionList()
	tracks := make([]allocator.Track, len(subs))
	for i, s := range subs {
		tracks[i] = s.allocTrack()
	}
	estimate := b.est.Estimate()
	if b.p.room.cfg.NoCongestionControl {
		estimate = unlimitedBps
	}
	dec := b.alloc.Update(now, estimate, tracks)
	spare := 0
	if st := b.est.Stats(); st.QueueDelay < rtxSpareMaxQueue && st.Usage != "overuse" {
		// Only a link without a queue has spare room: on a full one the
		// leftover of a coarse allocation is not room, and resends into it
		// paused the camera at 300 kbit/s.
		spare = rtxSpare(estimate, dec)
	}
	snap := Snapshot{EstimateBps: estimate, AllowedBps: dec.AllowedBps}
	stats := make([]allocator.TrackStats, 0, len(subs))
	for i, td := range dec.Tracks {
		s := subs[i]
		s.apply(td, &tracks[i], b.alloc, spare, b.p.room.cfg.NoCongestionControl)
		if s.pt != nil {
			s.pt.setNeed(b.p.sid, allocator.NeedOf(td))
		}
		snap.Tracks = append(snap.Tracks, TrackSnapshot{
			TrackSID: s.trackSID, Spatial: td.Target.Layer.Spatial, Temporal: td.Target.Layer.Temporal,
			Current: s.down().CurrentLayer(), Paused: td.Target.Paused, Reasons: td.Target.Reasons.String(),
		})
		stats = append(stats, s.qualityStats(tracks[i].Kind, td.Target))
	}
	if p := dec.Probe; p != nil {
		b.p.log.Debug("probe", "target", p.TargetBps, "padding", p.PaddingBps, "estimate", estimate)
		b.est.StartProbe(p.TargetBps, p.Duration, now)
		b.probeUntil, b.probeBps = now.Add(p.Duration), p.PaddingBps
	}
	q, score := allocator.ParticipantQuality(stats)
	snap.Quality = q.String()
	b.mu.Lock()
	b.last = snap
	b.mu.Unlock()
	if now.Sub(b.lastQ) >= qualityEvery && len(stats) > 0 {
		b.lastQ = now
		if st := b.est.Stats(); b.p.log.Enabled(context.Background(), slog.LevelDebug) {
			b.p.log.Debug("bandwidth", "mode", st.Mode.String(), "estimate", st.Estimate, "delay_based", st.DelayBasedBps,
				"loss_based", st.LossBasedBps, "acked", st.AckedBps, "sent", st.SentBps, "loss", st.LossRatio, "usage", st.Usage,
				"queue", st.QueueDelay, "rtt", st.RTT, "quality", q.String())
		}
		b.p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_ConnectionQuality{
			ConnectionQuality: &livekit.ConnectionQualityUpdate{Updates: []*livekit.ConnectionQualityInfo{{
				ParticipantSid: b.p.sid, Quality: q, Score: score,
			}}},
		}})
	}
}

// rtxSpare is each flowing track's part of the estimate left over by the
// allocation (for retransmissions; audio takes a part it does not use).
func rtxSpare(estimate int, dec allocator.Decision) int {
	used, video := 0, 0
	for _, td := range dec.Tracks {
		if td.Target.Paused {
			continue
		}
		used += td.Target.Bitrate
		if td.Forwarding {
			video++
		}
	}
	if video == 0 || estimate <= used {
		return 0
	}
	return (estimate - used) / video
}

// sendPadding spreads the current probe's padding over the padding ticks, as
// padding-only packets on the subscriber's video streams (forward.SendPadding):
// flowing tracks first (they pad between frames), then paused ones.
func (b *bandwidth) sendPadding(now time.Time) {
	if b.probeBps <= 0 || now.After(b.probeUntil) {
		b.probeBps = 0
		return
	}
	// Overshoot a little: timer slack and per-packet overhead would
	// otherwise leave the probe short of its target and unconfirmed.
	want := b.probeBps * 6 / 5 / 8 * int(paddingEvery/time.Millisecond) / 1000
	subs := b.p.subscriptionList()
	for _, paused := range []bool{false, true} {
		for _, s := range subs {
			dt := s.down()
			if dt.Up().Info().Kind.String() == "audio" || (dt.Paused() != 0) != paused || !dt.CanPad() {
				continue
			}
			if want -= dt.SendPadding(want); want <= 0 {
				return
			}
		}
	}
}

// Bandwidth returns the last allocation snapshot (admin API, metrics).
func (p *Participant) Bandwidth() (Snapshot, bool) {
	if p.bw == nil {
		return Snapshot{}, false
	}
	p.bw.mu.Lock()
	defer p.bw.mu.Unlock()
	return p.bw.last, true
}

func (p *Participant) subscriptionList() []*subscription {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*subscription, 0, len(p.subscriptions))
	for _, s := range p.subscriptions {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].trackSID < out[j].trackSID })
	return out
}

// allocTrack describes a subscribed track to the allocator.
func (s *subscription) allocTrack() allocator.Track {
	dt := s.down()
	up := dt.Up()
	info := up.Info()
	t := allocator.Track{ID: s.trackSID, PublisherMuted: up.Muted()}
	s.mu.Lock()
	t.Request, t.Priority = s.request, s.priority
	s.mu.Unlock()
	if s.pt != nil && s.pt.p != nil {
		t.SpeakerRank = s.pt.p.room.speakerRank(s.pt.p.sid)
	}
	if info.Kind.String() == "audio" {
		t.Kind, t.Class = allocator.KindAudio, allocator.ClassAudio
		t.Bitrates[0][0] = int(up.LayerBitrate(0))
		return t
	}
	t.Kind = allocator.KindVideo
	switch {
	case info.Source == livekit.TrackSource_SCREEN_SHARE:
		t.Class = allocator.ClassScreen
	case s.publisherRole == "master_teacher":
		t.Class = allocator.ClassMasterCamera
	default:
		t.Class = allocator.ClassCamera
	}
	for l := 0; l < up.Layers() && l < allocator.MaxSpatial; l++ {
		t.Bitrates[l][0] = int(up.LayerBitrate(l))
		// VP8 with temporal layers (Chromium's simulcast is L1T3): price
		// each spatial layer with TL0 only, TL0+1, … so a thin link can
		// keep a sharper picture at a lower frame rate.
		if bps, fps, n := up.TemporalRates(l); n > 1 && bps[0] > 0 {
			for tl := 0; tl < n && tl < allocator.MaxTemporal; tl++ {
				t.Bitrates[l][tl] = int(bps[tl])
				t.FPS[tl] = fps[tl]
			}
		}
	}
	layers := append([]*livekit.VideoLayer(nil), info.Layers...)
	sort.Slice(layers, func(i, j int) bool { return layers[i].Width < layers[j].Width })
	for i, l := range layers {
		if i < allocator.MaxSpatial {
			t.Dims[i] = allocator.Dimensions{Width: int(l.Width), Height: int(l.Height)}
		}
	}
	return t
}

// apply makes the down track follow the allocator's decision.
// tr is the allocator's input for the track, as allocTrack priced it this
// round.
func (s *subscription) apply(td allocator.TrackDecision, tr *allocator.Track, alloc *allocator.Subscriber, spare int, noCC bool) {
	dt := s.down()
	if dt.Up().Info().Kind.String() == "audio" {
		return
	}
	bwPaused := td.Target.Paused && td.Target.Reasons.Has(allocator.PauseBandwidth)
	dt.SetPaused(forward.PauseBandwidth, bwPaused)
	if td.Target.Paused {
		return
	}
	// Retransmissions get a share of the track's own allocation plus its
	// part of the estimate nothing is allocated to (see forward.rtxBudget):
	// a healthy link repairs a burst at once, a full queue (no spare) gets
	// only the share. Without congestion control there is no estimate to
	// protect: no budget.
	rtx := int(rtxShare*float64(td.Target.Bitrate)) + spare
	if noCC {
		rtx = 0
	}
	dt.SetRetransmitRate(rtx)
	s.mu.Lock()
	changed := s.applied != td.Target.Layer.Spatial+1
	s.applied = td.Target.Layer.Spatial + 1
	s.mu.Unlock()
	if changed {
		dt.SetMaxLayer(td.Target.Layer.Spatial)
	}
	// The temporal choice counts only where the layer has temporal layers
	// (priced in allocTrack); elsewhere every frame is forwarded.
	if tr.Bitrates[td.Target.Layer.Spatial][1] > 0 {
		dt.SetMaxTemporal(td.Target.Layer.Temporal)
	} else {
		dt.SetMaxTemporal(forward.MaxTemporal - 1)
	}
	if td.Pending && dt.CurrentLayer() == td.Target.Layer.Spatial {
		_, _ = alloc.OnKeyframe(s.trackSID, td.Target.Layer.Spatial)
	}
}

// onReceiverReport keeps the subscriber's loss and jitter for quality.
func (s *subscription) onReceiverReport(rr *rtcp.ReceiverReport) {
	for _, r := range rr.Reports {
		s.mu.Lock()
		s.fractionLost = r.FractionLost
		s.jitter = r.Jitter
		s.mu.Unlock()
	}
}

func (s *subscription) qualityStats(kind allocator.Kind, target allocator.TrackAllocation) allocator.TrackStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	clock := s.down().Up().Info().Codec.ClockRate
	if clock == 0 {
		clock = 90000
	}
	ts := allocator.TrackStats{Kind: kind, PacketsExpected: 256, PacketsLost: int(s.fractionLost),
		Jitter: time.Duration(s.jitter) * time.Second / time.Duration(clock)}
	if kind == allocator.KindVideo {
		ts.Allocation = target
	}
	return ts
}
