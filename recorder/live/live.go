// Package live records the rooms of a running SFU. It decides which rooms
// are recorded (server configuration, room metadata, API requests such as
// LiveKit Egress), keeps each recording's tracks in step with its room (the
// recorder is just another subscriber, at the top simulcast layer), writes
// joins, leaves and the classroom layer's events to the timeline, and
// reports each recording's state.
//
// Each recording is a session actor. Rooms have no "track unpublished"
// hook, so a session reconciles the tracks it records with the room's
// published tracks when a hook nudges it and once a second; that also makes
// it robust to a missed nudge.
package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sync"
	"time"

	"github.com/classcast/classcast/recorder"
	"github.com/classcast/classcast/recorder/catalog"
	"github.com/classcast/classcast/sfu/room"
)

// Config configures a Service.
type Config struct {
	Recorder *recorder.Recorder
	Catalog  *catalog.Catalog
	Rooms    *room.Manager
	// Root is the recorder's storage root (for file sizes in Info).
	Root string
	// AutoRecord reports whether a room is recorded from its first join
	// (server configuration). Nil records no room automatically.
	AutoRecord func(roomName string) bool
	// Reconcile is how often sessions and automatic recording re-check the
	// rooms. It defaults to 1 s.
	Reconcile time.Duration
	Logger    *slog.Logger
	Now       func() time.Time
}

// Service runs the recordings of a node's rooms.
type Service struct {
	cfg   Config
	log   *slog.Logger
	nudge chan string // rooms to check for automatic recording
	quit  chan struct{}
	done  chan struct{}
	wg    sync.WaitGroup // sessions

	mu       sync.Mutex
	sessions map[string]*session // active, by ID
	history  []Info              // finished, oldest first, bounded
	failed   map[string]bool     // rooms whose automatic recording failed
	closed   bool
}

const historySize = 512

// New starts the service and registers its room hooks; call it before
// rooms open.
func New(cfg Config) (*Service, error) {
	if cfg.Recorder == nil || cfg.Catalog == nil || cfg.Rooms == nil {
		return nil, fmt.Errorf("%w: Recorder, Catalog and Rooms are required", ErrBadRequest)
	}
	if cfg.Reconcile <= 0 {
		cfg.Reconcile = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{
		cfg: cfg, log: cfg.Logger.With("component", "recordings"),
		nudge: make(chan string, 64), quit: make(chan struct{}), done: make(chan struct{}),
		sessions: map[string]*session{}, failed: map[string]bool{},
	}
	cfg.Rooms.AddHooks(func(r *room.Room) room.Hooks { return &hooks{s: s} })
	go s.run()
	return s, nil
}

// run is the automatic-recording loop.
func (s *Service) run() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Reconcile)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case name := <-s.nudge:
			if r, ok := s.cfg.Rooms.Get(name); ok {
				s.autoCheck(r)
			}
		case <-t.C:
			for _, r := range s.cfg.Rooms.List() {
				s.autoCheck(r)
			}
		}
	}
}

// poke asks the loop to check a room soon; it never blocks (the periodic
// check catches up when the queue is full).
func (s *Service) poke(roomName string) {
	select {
	case s.nudge <- roomName:
	default:
	}
}

// autoCheck starts or stops a room's automatic recording.
func (s *Service) autoCheck(r *room.Room) {
	info := r.Info()
	md := parseMetadata(info.Metadata)
	name := r.Name()
	var want Origin
	switch {
	case md.Record != nil && *md.Record:
		want = OriginMetadata
	case md.Record == nil && s.cfg.AutoRecord != nil && s.cfg.AutoRecord(name):
		want = OriginConfig
	}
	s.mu.Lock()
	var auto *session
	for _, ss := range s.sessions {
		if ss.req.Room == name && ss.req.Origin != OriginAPI {
			auto = ss
		}
	}
	failed, closed := s.failed[name], s.closed
	s.mu.Unlock()
	switch {
	case closed:
	case auto != nil && want == "":
		auto.stop("automatic recording turned off in the room metadata")
	case auto == nil && want != "" && !failed && info.NumParticipants > 0:
		req := Request{Room: name, Kind: KindRoom, Origin: want, Meta: md.meta()}
		if _, err := s.Start(context.Background(), req); err != nil {
			s.log.Warn("automatic recording not started", "room", name, "err", err)
		}
	}
}

func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "EG_" + hex.EncodeToString(b[:])
}

// Start begins a recording.
func (s *Service) Start(ctx context.Context, req Request) (Info, error) {
	if req.ID == "" {
		req.ID = newID()
	}
	if req.Origin == "" {
		req.Origin = OriginAPI
	}
	switch {
	case req.Room == "":
		return Info{}, fmt.Errorf("%w: room name required", ErrBadRequest)
	case req.Kind == KindParticipant && req.Identity == "":
		return Info{}, fmt.Errorf("%w: participant identity required", ErrBadRequest)
	case req.Kind == KindTracks && len(req.Tracks) == 0:
		return Info{}, fmt.Errorf("%w: track ids required", ErrBadRequest)
	case req.Kind != KindRoom && req.Kind != KindParticipant && req.Kind != KindTracks:
		return Info{}, fmt.Errorf("%w: kind %q", ErrBadRequest, req.Kind)
	case req.AudioOnly && req.VideoOnly:
		return Info{}, fmt.Errorf("%w: audio only and video only", ErrBadRequest)
	}
	r, ok := s.cfg.Rooms.Get(req.Room)
	if !ok {
		return Info{}, fmt.Errorf("%w: %s", ErrRoomNotFound, req.Room)
	}
	if req.Kind == KindTracks {
		if err := s.checkTracks(r, req.Tracks); err != nil {
			return Info{}, err
		}
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return Info{}, ErrClosed
	}
	rec, err := s.cfg.Recorder.Start(ctx, recorder.StartRequest{ID: req.ID, Room: req.Room, Meta: req.Meta})
	if err != nil {
		return Info{}, err
	}
	ss := newSession(s, r, rec, req)
	s.mu.Lock()
	if s.closed { // lost the race with Close: the recording is finalized at once
		s.mu.Unlock()
		_, _ = rec.Stop(context.Background())
		return Info{}, ErrClosed
	}
	s.sessions[req.ID] = ss
	s.wg.Add(1)
	s.mu.Unlock()
	go ss.run()
	s.log.Info("recording started", "recording", req.ID, "room", req.Room, "kind", req.Kind,
		"origin", req.Origin, "identity", req.Identity, "tracks", req.Tracks)
	return ss.info(), nil
}

// checkTracks makes sure every listed track is published in r.
func (s *Service) checkTracks(r *room.Room, sids []string) error {
	found := map[string]bool{}
	err := r.Do(func() {
		for _, p := range r.ParticipantsOnLoop() {
			for _, t := range p.Info().Tracks {
				found[t.Sid] = true
			}
		}
	})
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrRoomNotFound, r.Name(), err)
	}
	for _, sid := range sids {
		if !found[sid] {
			return fmt.Errorf("%w: %s in room %s", ErrTrackNotFound, sid, r.Name())
		}
	}
	return nil
}

// Stop ends a recording and waits (bounded by ctx) until it is finalized.
// When ctx ends first, the Info says StatusEnding.
func (s *Service) Stop(ctx context.Context, id string) (Info, error) {
	s.mu.Lock()
	ss, ok := s.sessions[id]
	s.mu.Unlock()
	if !ok {
		if infos, _ := s.List(ctx, "", id, false); len(infos) > 0 {
			return infos[0], fmt.Errorf("%w: %s is %s", ErrNotActive, id, infos[0].Status)
		}
		return Info{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	ss.stop("stopped by request")
	select {
	case <-ss.done:
	case <-ctx.Done():
	}
	return ss.info(), nil
}

// List returns recordings, newest first: those of this process (active
// and finished) and, for an ID not among them, the cataloged asset.
func (s *Service) List(ctx context.Context, roomName, id string, activeOnly bool) ([]Info, error) {
	match := func(in Info) bool {
		return (roomName == "" || in.Room == roomName) && (id == "" || in.ID == id) &&
			(!activeOnly || in.Status == StatusActive || in.Status == StatusEnding)
	}
	var out []Info
	s.mu.Lock()
	active := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		active = append(active, ss)
	}
	for i := len(s.history) - 1; i >= 0; i-- {
		if match(s.history[i]) {
			out = append(out, s.history[i])
		}
	}
	s.mu.Unlock()
	var live []Info
	for _, ss := range active {
		if in := ss.info(); match(in) {
			live = append(live, in)
		}
	}
	sortNewest(live)
	out = append(live, out...)
	if id != "" && len(out) == 0 && !activeOnly {
		a, err := s.cfg.Catalog.Get(ctx, id)
		if errors.Is(err, catalog.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if in := s.assetInfo(Info{Request: Request{ID: a.ID, Room: a.Room, Kind: KindRoom}}, a); match(in) {
			out = append(out, in)
		}
	}
	return out, nil
}

// assetInfo completes in with a finalized asset.
func (s *Service) assetInfo(in Info, a *catalog.Asset) Info {
	in.Asset = a
	in.Status = StatusComplete
	if a.Status == catalog.StatusIncomplete {
		in.Status, in.Error = StatusFailed, a.Reason
	}
	if in.StartedAt.IsZero() {
		in.StartedAt = a.Date
	}
	if in.EndedAt.IsZero() {
		in.EndedAt = a.Date.Add(a.Duration)
		in.UpdatedAt = in.EndedAt
	}
	in.Files = nil
	for _, t := range a.Tracks {
		for _, f := range t.Files {
			fi := File{Path: path.Join(a.Dir, f), Asset: f, Track: t.SID,
				Start: a.Date.Add(secs(t.Start)), End: a.Date.Add(secs(t.End))}
			if st, err := os.Stat(filepath.Join(s.cfg.Root, a.Dir, filepath.FromSlash(f))); err == nil {
				fi.Size = st.Size()
			}
			in.Files = append(in.Files, fi)
		}
	}
	return in
}

func secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// finished moves a session to the history.
func (s *Service) finished(ss *session, in Info) {
	s.mu.Lock()
	delete(s.sessions, in.ID)
	s.history = append(s.history, in)
	if len(s.history) > historySize {
		s.history = s.history[len(s.history)-historySize:]
	}
	if in.Status == StatusFailed && in.Origin != OriginAPI {
		s.failed[in.Room] = true
	}
	s.mu.Unlock()
	if in.Status == StatusFailed && in.Origin != OriginAPI {
		s.log.Warn("automatic recording of the room is not restarted after its fault", "room", in.Room, "recording", in.ID)
	}
	s.wg.Done()
}

// roomSessions lists the active sessions of a room.
func (s *Service) roomSessions(roomName string) []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*session
	for _, ss := range s.sessions {
		if ss.req.Room == roomName {
			out = append(out, ss)
		}
	}
	return out
}

// roomClosed stops the room's recordings and forgets its failure.
func (s *Service) roomClosed(roomName string) {
	for _, ss := range s.roomSessions(roomName) {
		ss.stop("room closed")
	}
	s.mu.Lock()
	delete(s.failed, roomName)
	s.mu.Unlock()
}

// Close stops every recording and waits, bounded by ctx, until they are
// finalized. Recordings still finalizing when ctx ends are finished in the
// background; if the process exits first, Recover finalizes them at the
// next start.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	active := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		active = append(active, ss)
	}
	s.mu.Unlock()
	close(s.quit)
	<-s.done
	for _, ss := range active {
		ss.stop("server shutting down")
	}
	all := make(chan struct{})
	go func() { s.wg.Wait(); close(all) }()
	select {
	case <-all:
		s.log.Info("recordings closed", "stopped", len(active))
		return nil
	case <-ctx.Done():
		s.log.Error("ALERT: shutdown grace ended before every recording was finalized; the next start recovers them")
		return fmt.Errorf("live: close: %w", ctx.Err())
	}
}
