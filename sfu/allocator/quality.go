package allocator

import (
	"time"

	"github.com/livekit/protocol/livekit"
)

// TrackStats is what the quality score looks at for one track of a
// participant over the last scoring window (LiveKit scores every ~5 s).
type TrackStats struct {
	Kind            Kind
	PacketsExpected int
	PacketsLost     int
	RTT             time.Duration
	Jitter          time.Duration
	// Allocation is the allocator's decision for a video track (subscriber
	// side); its deficit against the want lowers the score. Leave zero on
	// the publisher side or for audio.
	Allocation TrackAllocation
}

// Quality thresholds on the MOS-like 1–5 scale.
const (
	mosExcellent = 4.1
	mosGood      = 3.6
	layerPenalty = 0.5
)

// Score rates one track on a 1–5 MOS-like scale.
//
// Audio (and the network part of video) follows a simplified ITU-T G.107
// E-model: the R factor loses points for effective latency (one-way delay
// plus jitter buffer) and for loss, and R maps to MOS. Video additionally
// loses half a point per spatial layer below what the subscriber wants
// (and scores 1 when paused for bandwidth): a
// student who gets the teacher's camera at 180p instead of 720p is not
// having an excellent lesson, whatever the loss.
func Score(ts TrackStats) float64 {
	loss := 0.0
	if ts.PacketsExpected > 0 {
		loss = float64(min(max(ts.PacketsLost, 0), ts.PacketsExpected)) / float64(ts.PacketsExpected)
	}
	mos := networkMOS(loss, ts.RTT, ts.Jitter, ts.Kind)
	if ts.Kind == KindVideo {
		if ts.Allocation.Paused && ts.Allocation.Reasons.Has(PauseBandwidth) {
			return 1
		}
		mos -= layerPenalty * float64(ts.Allocation.Deficit())
	}
	return min(max(mos, 1), 5)
}

func networkMOS(loss float64, rtt, jitter time.Duration, kind Kind) float64 {
	effMs := float64(rtt.Milliseconds())/2 + 2*float64(jitter.Milliseconds()) + 10
	r := 93.2
	if effMs < 160 {
		r -= effMs / 40
	} else {
		r -= (effMs - 120) / 10
	}
	// Opus with FEC and video with NACK both tolerate some loss; video
	// degrades faster (a lost packet can freeze a frame until a keyframe).
	lossPenalty := 2.5
	if kind == KindVideo {
		lossPenalty = 4
	}
	r -= loss * 100 * lossPenalty
	r = min(max(r, 0), 100)
	return 1 + 0.035*r + 7e-6*r*(r-60)*(100-r)
}

// ParticipantQuality is the connection quality of a participant: its worst
// track, or LOST when packets were expected and none arrived. The score goes
// into livekit.ConnectionQualityInfo.Score.
func ParticipantQuality(tracks []TrackStats) (livekit.ConnectionQuality, float32) {
	if len(tracks) == 0 {
		return livekit.ConnectionQuality_EXCELLENT, 5
	}
	worst := 5.0
	for _, ts := range tracks {
		if ts.PacketsExpected > 0 && ts.PacketsLost >= ts.PacketsExpected {
			return livekit.ConnectionQuality_LOST, 0
		}
		worst = min(worst, Score(ts))
	}
	return QualityOf(worst), float32(worst)
}

// QualityOf maps a 1–5 score to LiveKit's quality levels.
func QualityOf(score float64) livekit.ConnectionQuality {
	switch {
	case score >= mosExcellent:
		return livekit.ConnectionQuality_EXCELLENT
	case score >= mosGood:
		return livekit.ConnectionQuality_GOOD
	default:
		return livekit.ConnectionQuality_POOR
	}
}
