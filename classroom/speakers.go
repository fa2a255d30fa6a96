package classroom

import (
	"math"
	"sort"

	"github.com/livekit/protocol/livekit"
)

// Speaker detection thresholds, as linear amplitude (10^(-dBov/20)):
// speaking starts above -40 dBov and ends below -46 dBov (hysteresis), on
// a level smoothed with a fast attack and a slower release.
const (
	speakOn      = 0.01   // -40 dBov
	speakOff     = 0.005  // -46 dBov
	attackAlpha  = 0.6    // weight of a rising sample
	releaseAlpha = 0.45   // weight of a falling sample
	levelEpsilon = 0.0001 // below this a smoothed level is silence
)

// LevelSample is one participant's audio level at a sampling instant.
type LevelSample struct {
	// ParticipantSID identifies the speaker in speakers_changed.
	ParticipantSID string
	// Level is the RFC 6464 level (0 loudest … 127 silent) of the loudest
	// live, unmuted microphone; 127 when there is none.
	Level uint8
}

// SpeakerDetector turns periodic audio level samples into LiveKit
// speakers_changed updates: smoothing, hysteresis and a top-N cut.
type SpeakerDetector struct {
	max    int
	states map[string]*speakerState
	active map[string]float64 // currently reported speakers → level
}

type speakerState struct {
	smoothed float64
	speaking bool
	seen     bool
}

// NewSpeakerDetector reports at most max speakers.
func NewSpeakerDetector(max int) *SpeakerDetector {
	if max < 1 {
		max = 1
	}
	return &SpeakerDetector{max: max, states: map[string]*speakerState{}, active: map[string]float64{}}
}

func linear(level uint8) float64 {
	if level >= 127 {
		return 0
	}
	return math.Pow(10, -float64(level)/20)
}

// Update feeds one sampling round (every participant with audio, or none)
// and returns the changes to announce: newly active speakers and those still
// active (active=true, loudest first) plus those who stopped (active=false).
// It returns nil when the set of active speakers did not change.
func (d *SpeakerDetector) Update(samples []LevelSample) []*livekit.SpeakerInfo {
	for _, st := range d.states {
		st.seen = false
	}
	for _, s := range samples {
		st := d.states[s.ParticipantSID]
		if st == nil {
			st = &speakerState{}
			d.states[s.ParticipantSID] = st
		}
		st.seen = true
		d.smooth(st, linear(s.Level))
	}
	type cand struct {
		sid   string
		level float64
	}
	var cands []cand
	for sid, st := range d.states {
		if !st.seen {
			// Gone (left or unpublished): decays like silence.
			d.smooth(st, 0)
		}
		if st.speaking {
			cands = append(cands, cand{sid, st.smoothed})
		}
		if !st.seen && st.smoothed < levelEpsilon && !st.speaking {
			delete(d.states, sid)
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].level != cands[j].level {
			return cands[i].level > cands[j].level
		}
		return cands[i].sid < cands[j].sid
	})
	// The top N by smoothed level; hysteresis above keeps the set from
	// flapping around the thresholds.
	next := map[string]float64{}
	for _, c := range cands {
		if len(next) == d.max {
			break
		}
		next[c.sid] = c.level
	}
	if sameKeys(next, d.active) {
		d.active = next
		return nil
	}
	var out []*livekit.SpeakerInfo
	for _, c := range cands {
		if lvl, ok := next[c.sid]; ok {
			out = append(out, &livekit.SpeakerInfo{Sid: c.sid, Level: float32(math.Min(lvl, 1)), Active: true})
		}
	}
	stopped := make([]string, 0, len(d.active))
	for sid := range d.active {
		if _, ok := next[sid]; !ok {
			stopped = append(stopped, sid)
		}
	}
	sort.Strings(stopped)
	for _, sid := range stopped {
		out = append(out, &livekit.SpeakerInfo{Sid: sid, Level: 0, Active: false})
	}
	d.active = next
	return out
}

func (d *SpeakerDetector) smooth(st *speakerState, lin float64) {
	alpha := releaseAlpha
	if lin > st.smoothed {
		alpha = attackAlpha
	}
	st.smoothed += alpha * (lin - st.smoothed)
	switch {
	case !st.speaking && st.smoothed >= speakOn:
		st.speaking = true
	case st.speaking && st.smoothed < speakOff:
		st.speaking = false
	}
}

// Active returns the currently reported speakers' sids, loudest first.
func (d *SpeakerDetector) Active() []string {
	out := make([]string, 0, len(d.active))
	for sid := range d.active {
		out = append(out, sid)
	}
	sort.Slice(out, func(i, j int) bool { return d.active[out[i]] > d.active[out[j]] })
	return out
}

func sameKeys(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}
