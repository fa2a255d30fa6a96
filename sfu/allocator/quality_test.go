package allocator

import (
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
)

func TestParticipantQuality(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	atWant := TrackAllocation{Layer: Layer{2, 2}, Want: Layer{2, 2}, WantsAny: true}
	oneDown := TrackAllocation{Layer: Layer{1, 2}, Want: Layer{2, 2}, WantsAny: true}
	twoDown := TrackAllocation{Layer: Layer{0, 2}, Want: Layer{2, 2}, WantsAny: true}
	bwPaused := TrackAllocation{Paused: true, Reasons: PauseBandwidth, Want: Layer{2, 2}, WantsAny: true}
	muted := TrackAllocation{Paused: true, Reasons: PausePublisherMuted}
	cases := []struct {
		name   string
		tracks []TrackStats
		want   livekit.ConnectionQuality
	}{
		{"no tracks", nil, livekit.ConnectionQuality_EXCELLENT},
		{"clean audio", []TrackStats{{Kind: KindAudio, PacketsExpected: 250, RTT: 40 * ms, Jitter: 5 * ms}}, livekit.ConnectionQuality_EXCELLENT},
		{"audio 2% loss", []TrackStats{{Kind: KindAudio, PacketsExpected: 250, PacketsLost: 5, RTT: 80 * ms, Jitter: 10 * ms}}, livekit.ConnectionQuality_EXCELLENT},
		{"audio 5% loss", []TrackStats{{Kind: KindAudio, PacketsExpected: 200, PacketsLost: 10, RTT: 80 * ms, Jitter: 10 * ms}}, livekit.ConnectionQuality_GOOD},
		{"audio 10% loss", []TrackStats{{Kind: KindAudio, PacketsExpected: 250, PacketsLost: 25, RTT: 80 * ms, Jitter: 10 * ms}}, livekit.ConnectionQuality_POOR},
		{"audio satellite RTT 700 ms", []TrackStats{{Kind: KindAudio, PacketsExpected: 250, RTT: 700 * ms, Jitter: 30 * ms}}, livekit.ConnectionQuality_POOR},
		{"audio all lost", []TrackStats{{Kind: KindAudio, PacketsExpected: 250, PacketsLost: 250}}, livekit.ConnectionQuality_LOST},
		{"video at want", []TrackStats{{Kind: KindVideo, PacketsExpected: 1000, RTT: 40 * ms, Allocation: atWant}}, livekit.ConnectionQuality_EXCELLENT},
		{"video one layer down", []TrackStats{{Kind: KindVideo, PacketsExpected: 1000, RTT: 40 * ms, Allocation: oneDown}}, livekit.ConnectionQuality_GOOD},
		{"video two layers down", []TrackStats{{Kind: KindVideo, PacketsExpected: 1000, RTT: 40 * ms, Allocation: twoDown}}, livekit.ConnectionQuality_POOR},
		{"video paused for bandwidth", []TrackStats{{Kind: KindVideo, Allocation: bwPaused}}, livekit.ConnectionQuality_POOR},
		{"video muted by publisher is not a deficit", []TrackStats{{Kind: KindVideo, Allocation: muted}}, livekit.ConnectionQuality_EXCELLENT},
		{"worst track wins", []TrackStats{
			{Kind: KindAudio, PacketsExpected: 250, RTT: 40 * ms},
			{Kind: KindVideo, PacketsExpected: 1000, RTT: 40 * ms, Allocation: twoDown},
		}, livekit.ConnectionQuality_POOR},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, score := ParticipantQuality(tc.tracks)
			if got != tc.want {
				t.Errorf("got %v (score %.2f), want %v", got, score, tc.want)
			}
		})
	}
}

func TestScoreMonotonicInLoss(t *testing.T) {
	t.Parallel()
	prev := 6.0
	for lost := 0; lost <= 40; lost++ {
		s := Score(TrackStats{Kind: KindAudio, PacketsExpected: 100, PacketsLost: lost, RTT: 50 * time.Millisecond})
		if s > prev || s < 1 || s > 5 {
			t.Fatalf("loss %d%%: score %.3f after %.3f", lost, s, prev)
		}
		prev = s
	}
}
