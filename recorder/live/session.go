package live

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/classcast/classcast/recorder"
	"github.com/classcast/classcast/sfu/room"
)

// session is one recording of a room: an actor whose run loop owns which
// tracks are recorded.
type session struct {
	s    *Service
	room *room.Room
	rec  *recorder.Recording
	req  Request
	log  *slog.Logger

	kick     chan struct{} // reconcile soon
	stopCh   chan string   // why to stop
	stopOnce sync.Once
	done     chan struct{}

	mu   sync.Mutex
	last Info // guarded by mu; the run loop updates it

	// owned by run
	recorded   map[string]bool // track SIDs being recorded
	refused    map[string]bool // tracks that cannot be recorded (codec)
	everSeen   bool            // the selected participant / track was present
	everTracks bool
}

func newSession(s *Service, r *room.Room, rec *recorder.Recording, req Request) *session {
	now := s.cfg.Now()
	return &session{
		s: s, room: r, rec: rec, req: req,
		log:  s.log.With("recording", req.ID, "room", req.Room),
		kick: make(chan struct{}, 1), stopCh: make(chan string, 1), done: make(chan struct{}),
		last:     Info{Request: req, RoomSID: r.SID(), Status: StatusActive, StartedAt: rec.Epoch(), UpdatedAt: now},
		recorded: map[string]bool{}, refused: map[string]bool{},
	}
}

func (ss *session) info() Info {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.last
}

// nudge asks for a reconcile without blocking (a pending one is enough).
func (ss *session) nudge() {
	select {
	case ss.kick <- struct{}{}:
	default:
	}
}

// stop asks the session to end; the first reason wins.
func (ss *session) stop(reason string) {
	ss.stopOnce.Do(func() { ss.stopCh <- reason })
}

func (ss *session) run() {
	defer close(ss.done)
	// Clients show REC while the room has a running recording.
	ss.room.SetRecording(true)
	defer ss.room.SetRecording(false)
	ss.present()
	reason := ss.loop()
	ss.mu.Lock()
	ss.last.Status, ss.last.UpdatedAt = StatusEnding, ss.s.cfg.Now()
	ss.mu.Unlock()
	asset, err := ss.rec.Stop(context.Background())
	in := ss.info()
	in.EndedAt = ss.s.cfg.Now()
	in.UpdatedAt = in.EndedAt
	if asset != nil {
		in = ss.s.assetInfo(in, asset)
	}
	if err != nil {
		in.Status, in.Error = StatusFailed, "finalize: "+err.Error()
	}
	ss.mu.Lock()
	ss.last = in
	ss.mu.Unlock()
	ss.s.log.Info("recording ended", "recording", in.ID, "room", in.Room, "reason", reason,
		"status", in.Status.String(), "error", in.Error, "files", len(in.Files))
	ss.s.finished(ss, in)
}

// loop reconciles until the recording should end and says why.
func (ss *session) loop() string {
	t := time.NewTicker(ss.s.cfg.Reconcile)
	defer t.Stop()
	for {
		if reason := ss.reconcile(); reason != "" {
			return reason
		}
		select {
		case <-ss.kick:
		case <-t.C:
		case reason := <-ss.stopCh:
			return reason
		case <-ss.rec.Done(): // stopped itself: a write fault
			return "recording fault"
		}
	}
}

// present writes who is in the room when the recording starts.
func (ss *session) present() {
	at := ss.rec.Epoch()
	_ = ss.room.Do(func() {
		for _, p := range ss.room.ParticipantsOnLoop() {
			if !p.Hidden() {
				_ = ss.rec.PostEvent("join", at, joinData(p, true))
			}
		}
	})
}

type roomTrack struct {
	identity string
	info     *livekit.TrackInfo
}

// reconcile records the selected tracks the room publishes and finishes
// those it no longer does. It returns a reason when the recording is over.
func (ss *session) reconcile() string {
	var tracks []roomTrack
	present := map[string]bool{}
	err := ss.room.Do(func() {
		for _, p := range ss.room.ParticipantsOnLoop() {
			if p.Hidden() {
				continue
			}
			present[p.Identity()] = true
			for _, t := range p.Info().Tracks {
				tracks = append(tracks, roomTrack{identity: p.Identity(), info: t})
			}
		}
	})
	if err != nil {
		return "room closed"
	}
	want := map[string]string{} // sid → identity
	for _, t := range tracks {
		if ss.selects(t) {
			want[t.info.Sid] = t.identity
		}
	}
	for sid := range ss.recorded {
		if _, ok := want[sid]; !ok {
			ss.rec.RemoveTrack(sid)
			delete(ss.recorded, sid)
		}
	}
	byIdentity := map[string][]string{}
	for sid, id := range want {
		if !ss.recorded[sid] && !ss.refused[sid] {
			byIdentity[id] = append(byIdentity[id], sid)
		}
	}
	for identity, sids := range byIdentity {
		ss.add(identity, sids)
	}
	switch ss.req.Kind {
	case KindParticipant:
		if present[ss.req.Identity] {
			ss.everSeen = true
		} else if ss.everSeen {
			return "participant left"
		}
	case KindTracks:
		if len(want) > 0 {
			ss.everSeen = true
		} else if ss.everSeen {
			return "tracks ended"
		}
	}
	return ""
}

// add attaches the recorder to a participant's tracks.
func (ss *session) add(identity string, sids []string) {
	pubs, err := ss.room.Published(identity)
	if err != nil {
		return // left meanwhile; the next reconcile sees it
	}
	wanted := map[string]bool{}
	for _, sid := range sids {
		wanted[sid] = true
	}
	for _, p := range pubs {
		sid := p.Info().SID
		if !wanted[sid] {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := ss.rec.AddTrack(ctx, p)
		cancel()
		switch {
		case err == nil:
			ss.recorded[sid] = true
			ss.everTracks = true
		case errors.Is(err, recorder.ErrClosed):
			return
		default:
			ss.refused[sid] = true // once: not retried every second
			ss.log.Warn("track not recorded", "track", sid, "participant", identity, "err", err)
		}
	}
}

// selects reports whether the request records a track.
func (ss *session) selects(t roomTrack) bool {
	r := ss.req
	video := t.info.Type == livekit.TrackType_VIDEO
	if (r.AudioOnly && video) || (r.VideoOnly && !video) {
		return false
	}
	switch r.Kind {
	case KindParticipant:
		if t.identity != r.Identity {
			return false
		}
		screen := t.info.Source == livekit.TrackSource_SCREEN_SHARE || t.info.Source == livekit.TrackSource_SCREEN_SHARE_AUDIO
		return screen == r.ScreenShare
	case KindTracks:
		for _, sid := range r.Tracks {
			if sid == t.info.Sid {
				return true
			}
		}
		return false
	}
	return true
}

func joinData(p *room.Participant, atStart bool) map[string]any {
	info := p.Info()
	d := map[string]any{"identity": p.Identity(), "sid": p.SID()}
	if info.Name != "" {
		d["name"] = info.Name
	}
	if atStart {
		d["at_start"] = true
	}
	return d
}

func sortNewest(in []Info) {
	sort.Slice(in, func(i, j int) bool { return in[i].StartedAt.After(in[j].StartedAt) })
}
