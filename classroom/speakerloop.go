package classroom

import (
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/classcast/classcast/sfu/room"
)

// tickSpeakers samples audio levels every SpeakerInterval on the room loop.
// It ends when the room closes.
func (ru *rules) tickSpeakers() {
	t := time.NewTicker(ru.cfg.SpeakerInterval)
	defer t.Stop()
	for {
		select {
		case <-ru.quit:
			return
		case <-ru.room.Done():
			return
		case <-t.C:
			// Do (not Post): at most one sample in flight, and no
			// goroutine is left behind when the room stops.
			if ru.room.Do(ru.sampleSpeakers) != nil {
				return
			}
		}
	}
}

type micInfo struct {
	p     *room.Participant
	track *livekit.TrackInfo
}

// sampleSpeakers reads every microphone's last audio level and announces
// changes of the active speaker set.
func (ru *rules) sampleSpeakers() {
	if ru.refreshMode() {
		ru.changed()
	}
	parts := ru.room.ParticipantsOnLoop()
	samples := make([]LevelSample, 0, len(parts))
	mics := make(map[string]micInfo, len(parts))
	for _, p := range parts {
		level := uint8(127)
		for _, t := range p.Info().Tracks {
			if t.Type != livekit.TrackType_AUDIO || t.Source != livekit.TrackSource_MICROPHONE || t.Muted {
				continue
			}
			up, ok := p.UpTrack(t.Sid)
			// A stream that stopped arriving keeps its last level: count
			// it as silent.
			if !ok || up.ActiveLayers() == 0 {
				continue
			}
			if _, seen := mics[p.SID()]; !seen {
				mics[p.SID()] = micInfo{p: p, track: t}
			}
			if l := up.AudioLevel(); l < level {
				level = l
			}
		}
		if level < 127 {
			samples = append(samples, LevelSample{ParticipantSID: p.SID(), Level: level})
		}
	}
	changes := ru.speakers.Update(samples)
	if changes == nil {
		return
	}
	// Bandwidth-short subscribers keep the speakers' cameras first.
	ru.room.SetSpeakerRanks(ru.speakers.Active())
	ru.m.speakers.Inc()
	for _, sub := range parts {
		list := make([]*livekit.SpeakerInfo, 0, len(changes))
		for _, s := range changes {
			// In a lesson, only speakers whose sound reaches sub are named.
			if mi, ok := mics[s.Sid]; s.Active && (!ok || (mi.p != sub && !ru.MaySubscribe(sub, mi.p, mi.track))) {
				continue
			}
			list = append(list, s)
		}
		if len(list) == 0 {
			continue
		}
		sub.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_SpeakersChanged{
			SpeakersChanged: &livekit.SpeakersChanged{Speakers: list}}})
	}
}
