package recorder

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Event kinds the recorder itself writes; the server adds its own (join,
// leave, on_stage, question, whiteboard, mute, ...) with AddEvent.
const (
	EventChapter      = "chapter" // data: {"title": "..."}; becomes a clip
	EventTrackAdded   = "track_added"
	EventTrackRemoved = "track_removed"
	EventStarted      = "recording_started"
	EventStopped      = "recording_stopped"
)

// TimelineEvent is one line of timeline.jsonl. T is seconds from the
// recording epoch: the same clock as the media's decode times.
type TimelineEvent struct {
	T    float64         `json:"t"`
	At   time.Time       `json:"at"`
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data,omitempty"`
}

// timeline appends events; owned by the recording's run goroutine.
type timeline struct {
	f     *os.File
	w     *bufio.Writer
	dirty bool
}

func openTimeline(path string) (*timeline, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("recorder: timeline: %w", err)
	}
	return &timeline{f: f, w: bufio.NewWriter(f)}, nil
}

func (t *timeline) append(line []byte) error {
	t.dirty = true
	if _, err := t.w.Write(line); err != nil {
		return fmt.Errorf("recorder: timeline: %w", err)
	}
	return nil
}

// sync flushes and fsyncs; called each second and at close, so a crash
// loses at most a second of events.
func (t *timeline) sync() error {
	if !t.dirty {
		return nil
	}
	t.dirty = false
	if err := t.w.Flush(); err != nil {
		return fmt.Errorf("recorder: timeline: %w", err)
	}
	if err := t.f.Sync(); err != nil {
		return fmt.Errorf("recorder: timeline: %w", err)
	}
	return nil
}

func (t *timeline) close() error {
	err := t.sync()
	if cerr := t.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("recorder: timeline: %w", cerr)
	}
	return err
}

func encodeEvent(epoch time.Time, kind string, at time.Time, data any) ([]byte, error) {
	ev := TimelineEvent{T: at.Sub(epoch).Seconds(), At: at, Kind: kind}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return nil, fmt.Errorf("recorder: event data: %w", err)
		}
		ev.Data = b
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("recorder: event: %w", err)
	}
	return append(b, '\n'), nil
}

// readTimeline reads the events; a torn last line (crash) is ignored.
func readTimeline(path string) ([]TimelineEvent, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recorder: timeline: %w", err)
	}
	defer f.Close()
	var out []TimelineEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var ev TimelineEvent
		if json.Unmarshal(sc.Bytes(), &ev) == nil {
			out = append(out, ev)
		}
	}
	return out, nil
}
