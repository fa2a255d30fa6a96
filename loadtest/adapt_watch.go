package loadtest

import (
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/client-sdk/go/media"
	"github.com/classcast/classcast/loadtest/stats"
)

// seqWindow counts one track's RTP packets against its (extended) sequence numbers within a
// measurement window: what the application never got, after any retransmission, is lost.
type seqWindow struct {
	started  bool
	maxSeq   int64
	startSeq int64
	received uint64
}

func (s *seqWindow) observe(seq uint16) {
	if !s.started {
		s.started, s.maxSeq, s.startSeq = true, int64(seq), int64(seq)-1
		s.received++
		return
	}
	if ext := s.maxSeq + int64(int16(seq-uint16(s.maxSeq))); ext > s.maxSeq {
		s.maxSeq = ext
	}
	s.received++
}

// take returns (expected, received) since the last take and starts a new window.
func (s *seqWindow) take() (expected, received uint64) {
	if s.started && s.maxSeq > s.startSeq {
		expected = uint64(s.maxSeq - s.startSeq)
	}
	received = s.received
	s.startSeq, s.received = s.maxSeq, 0
	return expected, min(received, max(expected, received))
}

// adaptWatch measures one subscriber of the adaptation scenario: which resolution (simulcast
// layer) it is receiving and since when, whether the server paused its video, and per window the
// longest audio gap, audio and video loss, and video freeze time. Track readers call observe*;
// the scenario reads and resets windows from another goroutine, hence the mutex (two
// subscribers at ~200 packets/s: contention does not matter here).
type adaptWatch struct {
	freezeGap time.Duration

	mu          sync.Mutex
	width       int
	height      int
	reachedAt   map[int]time.Time // first frame at each width since mark
	pausedAt    time.Time         // first PAUSED stream state since mark
	paused      bool
	markAt      time.Time
	lastFrame   time.Time
	lastAudio   time.Time
	audioMaxGap time.Duration
	freeze      time.Duration
	frames      uint64
	bytes       uint64
	total       uint64 // bytes since the start, never reset
	audio, vid  seqWindow
	videoSID    string
}

func newAdaptWatch(freezeGap time.Duration) *adaptWatch {
	if freezeGap <= 0 {
		freezeGap = stats.DefaultFreezeGap
	}
	return &adaptWatch{freezeGap: freezeGap, reachedAt: map[int]time.Time{}, markAt: time.Now()}
}

// onTrack starts the reader of a subscribed track; readers end when the track does. wg owns them.
func (w *adaptWatch) onTrack(rt *client.RemoteTrack, wg *sync.WaitGroup) {
	video := rt.Kind == webrtc.RTPCodecTypeVideo
	if video {
		w.mu.Lock()
		w.videoSID = rt.SID
		w.mu.Unlock()
		_ = rt.SetSettings(client.TrackSettings{Quality: livekit.VideoQuality_HIGH}) // best effort: HIGH is the default
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		for {
			n, _, err := rt.Track.Read(buf)
			if err != nil {
				return
			}
			w.observe(buf[:n], video, time.Now())
		}
	}()
}

func (w *adaptWatch) observe(pkt []byte, video bool, now time.Time) {
	seq, payload, ok := stats.ParseRTP(pkt)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bytes += uint64(len(pkt))
	w.total += uint64(len(pkt))
	if !video {
		w.audio.observe(seq)
		if !w.lastAudio.IsZero() {
			w.audioMaxGap = max(w.audioMaxGap, now.Sub(later(w.lastAudio, w.markAt)))
		}
		w.lastAudio = now
		return
	}
	w.vid.observe(seq)
	info, err := media.InspectVP8(payload)
	if err != nil || !info.FrameStart {
		return
	}
	if info.Keyframe && info.Width > 0 {
		w.width, w.height = info.Width, info.Height
	}
	if _, seen := w.reachedAt[w.width]; !seen && w.width > 0 {
		w.reachedAt[w.width] = now
	}
	if !w.lastFrame.IsZero() {
		if gap := now.Sub(w.lastFrame); gap > w.freezeGap {
			w.freeze += now.Sub(later(w.lastFrame, w.markAt))
		}
	}
	w.lastFrame = now
	w.frames++
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (w *adaptWatch) onStreamState(states []*livekit.StreamStateInfo) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range states {
		if s.GetTrackSid() != w.videoSID {
			continue
		}
		w.paused = s.GetState() == livekit.StreamState_PAUSED
		if w.paused && w.pausedAt.IsZero() {
			w.pausedAt = time.Now()
		}
	}
}

// adaptWindow is what one window measured.
type adaptWindow struct {
	audioMaxGap              time.Duration
	audioExpected, audioRecv uint64
	videoExpected, videoRecv uint64
	freeze                   time.Duration
	frames, bytes            uint64
	width, height            int
	paused                   bool
	seconds                  float64
	reachedAt                map[int]time.Time
	pausedAt                 time.Time
}

// take closes the window at now (gaps still open count up to now) and starts the next one.
func (w *adaptWatch) take(now time.Time) adaptWindow {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := adaptWindow{
		audioMaxGap: w.audioMaxGap, freeze: w.freeze, frames: w.frames, bytes: w.bytes,
		width: w.width, height: w.height, paused: w.paused, seconds: now.Sub(w.markAt).Seconds(),
		reachedAt: w.reachedAt, pausedAt: w.pausedAt,
	}
	if !w.lastAudio.IsZero() {
		out.audioMaxGap = max(out.audioMaxGap, now.Sub(later(w.lastAudio, w.markAt)))
	} else {
		out.audioMaxGap = now.Sub(w.markAt)
	}
	if w.lastFrame.IsZero() || now.Sub(w.lastFrame) > w.freezeGap {
		out.freeze += now.Sub(later(w.lastFrame, w.markAt))
	}
	out.audioExpected, out.audioRecv = w.audio.take()
	out.videoExpected, out.videoRecv = w.vid.take()
	w.markAt = now
	w.audioMaxGap, w.freeze, w.frames, w.bytes = 0, 0, 0, 0
	w.reachedAt = map[int]time.Time{}
	// A layer still being received counts as reached in the new window at its next frame.
	w.pausedAt = time.Time{}
	return out
}

// current is the resolution of the last keyframe, whether video is paused, and when the first
// frame at width arrived and the first pause was seen since the window started (zero if not).
func (w *adaptWatch) current(width int) (reached, paused time.Time, isPaused bool, curW, curH int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reachedAt[width], w.pausedAt, w.paused, w.width, w.height
}

// totals is every byte received so far and the current width.
func (w *adaptWatch) totals() (bytes uint64, width int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.total, w.width
}
