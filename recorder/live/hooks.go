package live

import (
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/classcast/classcast/sfu/room"
)

// hooks observe one room. They run on the room's loop, so they only post:
// timeline events without waiting, and nudges to the sessions and to the
// automatic-recording loop.
type hooks struct {
	room.NoHooks
	s *Service
}

func (h *hooks) Joined(r *room.Room, p *room.Participant) {
	if p.Hidden() {
		return
	}
	h.event(r.Name(), "join", joinData(p, false))
	h.s.poke(r.Name())
}

func (h *hooks) Left(r *room.Room, p *room.Participant) {
	if p.Hidden() {
		return
	}
	h.event(r.Name(), "leave", map[string]any{"identity": p.Identity(), "sid": p.SID()})
}

func (h *hooks) TrackPublished(r *room.Room, _ *room.Participant, _ *livekit.TrackInfo) {
	for _, ss := range h.s.roomSessions(r.Name()) {
		ss.nudge()
	}
	h.s.poke(r.Name())
}

func (h *hooks) Closed(r *room.Room) {
	// Only signals: sessions finalize on their own goroutines.
	h.s.roomClosed(r.Name())
}

// event writes to every recording of the room and nudges it.
func (h *hooks) event(roomName, kind string, data any) {
	now := h.s.cfg.Now()
	for _, ss := range h.s.roomSessions(roomName) {
		_ = ss.rec.PostEvent(kind, now, data)
		ss.nudge()
	}
}

// Timeline is where the classroom layer reports a room's lesson events
// (stage on/off, questions, chapters, mute, whiteboard ops). It writes to
// whatever recordings of the room are active at the time of each call, so
// it can be looked up once per room; with none active it does nothing. Its
// methods never block: they are meant to be called on the room's loop.
type Timeline struct {
	s    *Service
	room string
}

// Timeline returns the room's timeline.
func (s *Service) Timeline(roomName string) Timeline { return Timeline{s: s, room: roomName} }

// AddEvent records an event at a wall-clock time (the media's clock).
func (t Timeline) AddEvent(kind string, at time.Time, data any) {
	if t.s == nil {
		return
	}
	for _, ss := range t.s.roomSessions(t.room) {
		_ = ss.rec.PostEvent(kind, at, data)
	}
}

// AddChapter starts a chapter; chapters become clips of the asset.
func (t Timeline) AddChapter(at time.Time, title string) {
	if t.s == nil {
		return
	}
	for _, ss := range t.s.roomSessions(t.room) {
		_ = ss.rec.PostChapter(at, title)
	}
}
