// Package classroom implements the classroom protocol
// (docs/classroom-protocol.md) on top of the SFU's room hooks: roles from
// token attributes, who receives whom (lesson stage), question moderation,
// the whiteboard, lesson control and meeting host controls, and active
// speaker detection. All per-room state is owned by the room's loop.
package classroom

import (
	"log/slog"
	"time"
)

// Config configures the classroom layer of a node. The zero value is valid.
type Config struct {
	// Logger receives one line per notable event (never per packet). It
	// defaults to a discarding logger.
	Logger *slog.Logger
	// Timeline returns where a room's lesson events go (the recorder). It
	// defaults to a no-op timeline; nil results are allowed.
	Timeline func(room string) Timeline
	// MaxOnStage is how many classrooms may be on stage at once when the
	// room metadata does not say. It defaults to 1.
	MaxOnStage int
	// SpeakerInterval is how often audio levels are sampled for active
	// speaker detection. It defaults to 300 ms.
	SpeakerInterval time.Duration
	// MaxSpeakers is how many active speakers are reported. It defaults to 3.
	MaxSpeakers int
	// RequestRate and RequestBurst bound classcast.req per participant.
	// They default to 20/s and 40.
	RequestRate, RequestBurst float64
	// BoardRate and BoardBurst bound classcast.wb per participant. They
	// default to 60/s and 120.
	BoardRate, BoardBurst float64
	// Now is the clock. It defaults to time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Timeline == nil {
		c.Timeline = func(string) Timeline { return NopTimeline{} }
	}
	if c.MaxOnStage <= 0 {
		c.MaxOnStage = 1
	}
	if c.SpeakerInterval <= 0 {
		c.SpeakerInterval = 300 * time.Millisecond
	}
	if c.MaxSpeakers <= 0 {
		c.MaxSpeakers = 3
	}
	if c.RequestRate <= 0 {
		c.RequestRate, c.RequestBurst = 20, 40
	}
	if c.RequestBurst < 1 {
		c.RequestBurst = c.RequestRate
	}
	if c.BoardRate <= 0 {
		c.BoardRate, c.BoardBurst = 60, 120
	}
	if c.BoardBurst < 1 {
		c.BoardBurst = c.BoardRate
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Timeline receives a lesson's events in the media's wall clock; the
// recorder implements it. Calls come from the room loop and must not block.
type Timeline interface {
	AddEvent(kind string, at time.Time, data any)
	AddChapter(at time.Time, title string)
}

// NopTimeline discards events.
type NopTimeline struct{}

// AddEvent implements Timeline.
func (NopTimeline) AddEvent(string, time.Time, any) {}

// AddChapter implements Timeline.
func (NopTimeline) AddChapter(time.Time, string) {}
