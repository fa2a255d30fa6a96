package loadtest

import (
	"time"

	"github.com/classcast/classcast/loadtest/report"
	"github.com/classcast/classcast/loadtest/stats"
)

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func percentiles(h *stats.Histogram) report.Percentiles {
	return report.Percentiles{
		P50: ms(h.Quantile(0.50)), P95: ms(h.Quantile(0.95)), P99: ms(h.Quantile(0.99)),
		Max: ms(h.Max()), Mean: ms(h.Mean()), N: h.Count(),
	}
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// subscriberTotals accumulates one subscriber's tracks.
type subscriberTotals struct {
	bytes, packets, packetsLost, synth, framesLost, frames uint64
	first, last                                            time.Time
	firstFrame, firstVideoFrame                            time.Time
	latency                                                stats.Histogram
	maxJitter                                              time.Duration
	freezes                                                uint64
	freezeTime                                             time.Duration
	tracksWithFrames                                       int
}

func (t *subscriberTotals) add(s stats.Summary) {
	t.bytes += s.Bytes
	t.packets += s.Packets
	t.packetsLost += s.PacketsLost
	t.synth += s.SyntheticFrames
	t.framesLost += s.FramesLost
	t.frames += s.Frames
	t.latency.Merge(s.Latency)
	t.maxJitter = max(t.maxJitter, s.Jitter)
	t.freezes += s.Freezes
	t.freezeTime += s.FreezeTime
	if s.Frames > 0 {
		t.tracksWithFrames++
	}
	if !s.FirstPacket.IsZero() && (t.first.IsZero() || s.FirstPacket.Before(t.first)) {
		t.first = s.FirstPacket
	}
	if s.LastPacket.After(t.last) {
		t.last = s.LastPacket
	}
	earliest(&t.firstFrame, s.FirstFrame)
	if s.Video {
		earliest(&t.firstVideoFrame, s.FirstFrame)
	}
}

func earliest(dst *time.Time, t time.Time) {
	if !t.IsZero() && (dst.IsZero() || t.Before(*dst)) {
		*dst = t
	}
}

// joinedToFirstFrame is what a viewer waits for: the first video frame, or the first audio packet
// for a subscriber that receives no video.
func (t *subscriberTotals) joinedToFirstFrame() time.Time {
	if !t.firstVideoFrame.IsZero() {
		return t.firstVideoFrame
	}
	return t.firstFrame
}

// summarize builds the run's report from every participant (after their readers stopped).
func (r *runner) summarize(timeline []report.Sample) *report.Run {
	c := r.cfg
	run := &report.Run{
		Name: r.name, Scenario: c.Scenario, Profile: r.profile, Started: r.started,
		Params: report.Params{
			Ramp: c.Ramp, Quality: c.Quality, MeasuredRole: r.sc.measuredRole,
		},
		Participants: len(r.parts), Joined: int(r.joined.Load()), Failed: int(r.failed.Load()), Timeline: timeline,
	}
	if c.Scenario == ScenarioLesson {
		run.Params.Classrooms, run.Params.Stage, run.Params.ClassView = c.Classrooms, c.Stage, c.ClassView
	} else {
		run.Params.Participants = c.Participants
	}
	var all stats.Histogram
	var agg subscriberTotals
	var bitrates, jitters, joins, firstFrames []float64
	for _, p := range r.parts {
		sub, tot := subscriberReport(p)
		run.Subscribers = append(run.Subscribers, sub)
		if p.err != nil && len(run.Errors) < maxErrorsKept {
			run.Errors = append(run.Errors, p.err.Error())
		}
		if p.plan.role != r.sc.measuredRole || p.joinStart.IsZero() || p.err != nil {
			continue
		}
		run.Summary.Subscribers++
		if tot.tracksWithFrames >= p.plan.expectedTracks && tot.tracksWithFrames > 0 {
			run.Summary.WithMedia++
		}
		all.Merge(&tot.latency)
		agg.packets += tot.packets
		agg.packetsLost += tot.packetsLost
		agg.synth += tot.synth
		agg.framesLost += tot.framesLost
		agg.bytes += tot.bytes
		agg.freezes += tot.freezes
		agg.freezeTime += tot.freezeTime
		run.Summary.WorstLoss = max(run.Summary.WorstLoss, sub.PacketLoss, sub.FrameLoss)
		bitrates = append(bitrates, sub.BitrateKbps)
		jitters = append(jitters, sub.JitterMs)
		joins = append(joins, sub.JoinMs)
		if sub.FirstFrameMs >= 0 {
			firstFrames = append(firstFrames, sub.FirstFrameMs)
		}
	}
	s := &run.Summary
	s.PacketLoss = ratio(agg.packetsLost, agg.packets+agg.packetsLost)
	s.FrameLoss = ratio(agg.framesLost, agg.synth+agg.framesLost)
	s.BitrateKbps, s.JitterMs = report.DistOf(bitrates), report.DistOf(jitters)
	s.JoinMs, s.FirstFrameMs = report.DistOf(joins), report.DistOf(firstFrames)
	s.Latency = percentiles(&all)
	s.Freezes, s.FreezeSeconds = agg.freezes, agg.freezeTime.Seconds()
	s.AggregateRxMbps = s.BitrateKbps.Mean * float64(len(bitrates)) / 1000
	for _, pt := range all.CDF() {
		run.LatencyCDF = append(run.LatencyCDF, report.CDFPoint{Ms: ms(pt.Value), Fraction: pt.Fraction})
	}
	return run
}

func subscriberReport(p *participant) (report.Subscriber, *subscriberTotals) {
	sub := report.Subscriber{Identity: p.plan.identity, Role: p.plan.role, JoinMs: ms(p.joinDur), FirstFrameMs: -1}
	if p.err != nil {
		sub.Error = p.err.Error()
	}
	tot := &subscriberTotals{}
	for _, t := range p.receivedTracks() {
		s := t.rec.Summary()
		tot.add(s)
		sub.Tracks = append(sub.Tracks, report.Track{
			SID: t.sid, Publisher: t.publisher, Kind: t.kind, Width: s.Width, Height: s.Height,
			BitrateKbps: s.Bitrate() / 1000, Packets: s.Packets, PacketsLost: s.PacketsLost,
			Frames: s.Frames, FramesLost: s.FramesLost, JitterMs: ms(s.Jitter), Freezes: s.Freezes,
			Latency: percentiles(s.Latency),
		})
	}
	if d := tot.last.Sub(tot.first).Seconds(); d > 0 {
		sub.BitrateKbps = float64(tot.bytes) * 8 / d / 1000
	}
	sub.PacketLoss = ratio(tot.packetsLost, tot.packets+tot.packetsLost)
	sub.FrameLoss = ratio(tot.framesLost, tot.synth+tot.framesLost)
	sub.JitterMs = ms(tot.maxJitter)
	sub.Freezes, sub.FreezeMs, sub.Frames = tot.freezes, ms(tot.freezeTime), tot.frames
	sub.Latency = percentiles(&tot.latency)
	if first := tot.joinedToFirstFrame(); !first.IsZero() && !p.joinStart.IsZero() {
		sub.FirstFrameMs = ms(first.Sub(p.joinStart))
	}
	return sub, tot
}
