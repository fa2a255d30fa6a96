package recorder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/recorder/catalog"
	"github.com/classcast/classcast/recorder/fmp4x"
	"github.com/classcast/classcast/recorder/trackwriter"
	"github.com/classcast/classcast/sfu/track"
)

// Recording is one room recording: an actor whose run loop owns the track
// writers and the timeline.
type Recording struct {
	rec   *Recorder
	id    string
	dir   string
	epoch time.Time
	log   *slog.Logger
	man   manifest

	ctx    context.Context
	cancel context.CancelFunc
	addCh  chan addReq
	rmCh   chan string
	evCh   chan []byte
	wdone  chan writerDone
	stopCh chan struct{}
	once   sync.Once
	done   chan struct{}

	asset *catalog.Asset // set before done is closed
	err   error
}

type addReq struct {
	p   track.Published
	res chan error
}

type writerDone struct {
	name string
	err  error
}

type trackState struct {
	w      *trackwriter.Writer
	att    track.Attachment
	cancel context.CancelFunc
}

func (t *trackState) detach() {
	if t.att != nil {
		t.att.Close()
	}
}

func newRecording(r *Recorder, req StartRequest, dir string) (*Recording, error) {
	if err := os.MkdirAll(filepath.Join(dir, tracksDir), 0o755); err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	epoch := r.cfg.Now()
	rec := &Recording{
		rec: r, id: req.ID, dir: dir, epoch: epoch,
		log:   r.log.With("recording", req.ID, "room", req.Room),
		man:   manifest{ID: req.ID, Room: req.Room, Meta: req.Meta, Epoch: epoch, Tracks: []manifestTrack{}},
		addCh: make(chan addReq), rmCh: make(chan string), evCh: make(chan []byte, 256),
		wdone: make(chan writerDone), stopCh: make(chan struct{}), done: make(chan struct{}),
	}
	if err := writeJSONAtomic(dir, manifestFile, rec.man); err != nil {
		return nil, err
	}
	tl, err := openTimeline(filepath.Join(dir, timelineFile))
	if err != nil {
		return nil, err
	}
	rec.ctx, rec.cancel = context.WithCancel(context.Background())
	r.cfg.Metrics.active.Inc()
	go rec.run(tl)
	_ = rec.AddEvent(EventStarted, epoch, map[string]string{"room": req.Room})
	return rec, nil
}

// ID returns the recording (and asset) ID.
func (r *Recording) ID() string { return r.id }

// Epoch is time zero of the recording's timeline.
func (r *Recording) Epoch() time.Time { return r.epoch }

// Done is closed when the recording is finalized.
func (r *Recording) Done() <-chan struct{} { return r.done }

// AddTrack starts recording a published track.
func (r *Recording) AddTrack(ctx context.Context, p track.Published) error {
	req := addReq{p: p, res: make(chan error, 1)}
	select {
	case r.addCh <- req:
	case <-r.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.res
}

// RemoveTrack stops recording a track (its file is finished and closed).
func (r *Recording) RemoveTrack(sid string) {
	select {
	case r.rmCh <- sid:
	case <-r.done:
	}
}

// AddEvent appends an event to the timeline, on the media clock.
func (r *Recording) AddEvent(kind string, at time.Time, data any) error {
	line, err := encodeEvent(r.epoch, kind, at, data)
	if err != nil {
		return err
	}
	select {
	case r.evCh <- line:
		return nil
	case <-r.done:
		return ErrClosed
	}
}

// PostEvent is AddEvent that never waits: it is for callers on a room's
// loop (hooks, the classroom layer), which must not block. When the
// timeline queue is full the event is dropped and ErrBusy returned.
func (r *Recording) PostEvent(kind string, at time.Time, data any) error {
	line, err := encodeEvent(r.epoch, kind, at, data)
	if err != nil {
		return err
	}
	select {
	case <-r.done:
		return ErrClosed
	default:
	}
	select {
	case r.evCh <- line:
		return nil
	default:
		r.rec.cfg.Metrics.eventsDropped.Inc()
		return ErrBusy
	}
}

// PostChapter is AddChapter that never waits (see PostEvent).
func (r *Recording) PostChapter(at time.Time, title string) error {
	return r.PostEvent(EventChapter, at, map[string]string{"title": title})
}

// AddChapter marks the start of a chapter; chapters become clips.
func (r *Recording) AddChapter(at time.Time, title string) error {
	return r.AddEvent(EventChapter, at, map[string]string{"title": title})
}

// Stop ends the recording, waits until it is finalized (files closed,
// clips cut, asset cataloged) and returns the asset.
func (r *Recording) Stop(ctx context.Context) (*catalog.Asset, error) {
	r.once.Do(func() { close(r.stopCh) })
	select {
	case <-r.done:
		return r.asset, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *Recording) run(tl *timeline) {
	defer close(r.done)
	tracks := map[string]*trackState{}
	reason := r.runInner(tl, tracks)

	for _, t := range tracks {
		t.detach()
		t.cancel()
	}
	for len(tracks) > 0 {
		d := <-r.wdone
		r.trackFinished(tracks, d)
	}
	_ = tl.append(mustEvent(r.epoch, EventStopped, r.rec.cfg.Now(), map[string]string{"reason": reason.Error()}))
	tlErr := tl.close()
	r.cancel()

	status := catalog.StatusComplete
	if !errors.Is(reason, ErrStopped) && !errors.Is(reason, context.Canceled) {
		status = catalog.StatusIncomplete
		r.rec.cfg.Metrics.writeErrors.Inc()
		r.log.Error("ALERT: recording stopped by a fault; keeping what was written", "err", reason)
	} else if tlErr != nil {
		r.log.Warn("timeline incomplete", "err", tlErr)
	}
	r.asset, r.err = r.rec.finalize(context.Background(), r.dir, status, reason.Error())
	if r.err == nil {
		r.rec.cfg.Metrics.recordings.WithLabelValues(status).Inc()
	}
	r.rec.cfg.Metrics.active.Dec()
	r.rec.forget(r.id)
	r.log.Info("recording closed", "reason", reason.Error(), "status", status, "finalize_err", r.err)
}

// runInner is the actor loop; it returns why the recording ends.
func (r *Recording) runInner(tl *timeline, tracks map[string]*trackState) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case req := <-r.addCh:
			req.res <- r.addTrack(tl, tracks, req.p)
		case sid := <-r.rmCh:
			if t, ok := tracks[trackName(sid)]; ok {
				t.detach()
				t.cancel()
				_ = tl.append(mustEvent(r.epoch, EventTrackRemoved, r.rec.cfg.Now(), map[string]string{"track": sid}))
			}
		case line := <-r.evCh:
			if err := tl.append(line); err != nil {
				return err
			}
		case d := <-r.wdone:
			if err := r.trackFinished(tracks, d); err != nil {
				return err
			}
		case <-tick.C:
			if err := tl.sync(); err != nil {
				return err
			}
		case <-r.stopCh:
			for len(r.evCh) > 0 {
				_ = tl.append(<-r.evCh)
			}
			return ErrStopped
		}
	}
}

func (r *Recording) trackFinished(tracks map[string]*trackState, d writerDone) error {
	if t, ok := tracks[d.name]; ok {
		t.detach()
		r.rec.cfg.Metrics.removeWriter(t.w)
		st := t.w.Stats()
		r.log.Info("track finished", "track", d.name, "packets", st.Packets, "dropped", st.Dropped,
			"lost", st.Lost, "late", st.Late, "fragments", st.Fragments, "bytes", st.Bytes)
		delete(tracks, d.name)
	}
	return d.err
}

// trackName makes a SID safe as a file name.
func trackName(sid string) string {
	return strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			return c
		}
		return '_'
	}, sid)
}

// CodecOf maps a WebRTC mime type to the stored codec.
func CodecOf(mime string) (fmp4x.Codec, error) {
	_, sub, _ := strings.Cut(strings.ToLower(mime), "/")
	c := fmp4x.Codec(sub)
	switch c {
	case fmp4x.CodecH264, fmp4x.CodecVP8, fmp4x.CodecVP9, fmp4x.CodecOpus, fmp4x.CodecPCMU, fmp4x.CodecPCMA:
		return c, nil
	}
	return "", fmt.Errorf("%w: %s", ErrUnsupportedCodec, mime)
}

func (r *Recording) addTrack(tl *timeline, tracks map[string]*trackState, p track.Published) error {
	info := p.Info()
	codec, err := CodecOf(info.Codec.MimeType)
	if err != nil {
		return err
	}
	name := trackName(info.SID)
	for i := 2; ; i++ { // a republished SID gets a fresh name
		if _, taken := tracks[name]; !taken && !r.hasTrack(name) {
			break
		}
		name = fmt.Sprintf("%s_%d", trackName(info.SID), i)
	}
	var att atomic.Pointer[track.Attachment]
	w, err := trackwriter.New(trackwriter.Config{
		Dir: filepath.Join(r.dir, tracksDir), Name: name, Codec: codec,
		Channels: int(info.Codec.Channels), FmtpLine: info.Codec.SDPFmtpLine, Epoch: r.epoch,
		RequestKeyframe: func() {
			if a := att.Load(); a != nil {
				(*a).RequestKeyframe()
			}
		},
		NoSync: r.rec.cfg.NoSync, Now: r.rec.cfg.Now, Logger: r.log,
	})
	if err != nil {
		return fmt.Errorf("recorder: %w", err)
	}
	kind := "audio"
	if info.Kind == webrtc.RTPCodecTypeVideo {
		kind = "video"
	}
	r.man.Tracks = append(r.man.Tracks, manifestTrack{Name: name, SID: info.SID,
		Participant: info.ParticipantIdentity, Kind: kind, Codec: string(codec)})
	if err := writeJSONAtomic(r.dir, manifestFile, r.man); err != nil {
		r.man.Tracks = r.man.Tracks[:len(r.man.Tracks)-1]
		return err
	}
	ctx, cancel := context.WithCancel(r.ctx)
	go func() {
		err := w.Run(ctx)
		r.wdone <- writerDone{name: name, err: err}
	}()
	ts := &trackState{w: w, cancel: cancel}
	tracks[name] = ts
	r.rec.cfg.Metrics.addWriter(w)
	a, err := p.Attach(w, track.AttachOptions{Quality: livekit.VideoQuality_HIGH})
	if err != nil {
		cancel() // the writer's end is reported on wdone like any other
		return fmt.Errorf("recorder: attach %s: %w", info.SID, err)
	}
	ts.att = a
	att.Store(&a)
	a.RequestKeyframe()
	_ = tl.append(mustEvent(r.epoch, EventTrackAdded, r.rec.cfg.Now(), map[string]string{
		"track": info.SID, "name": name, "participant": info.ParticipantIdentity, "kind": kind, "codec": string(codec)}))
	return nil
}

func (r *Recording) hasTrack(name string) bool {
	for _, t := range r.man.Tracks {
		if t.Name == name {
			return true
		}
	}
	return false
}

func mustEvent(epoch time.Time, kind string, at time.Time, data map[string]string) []byte {
	b, _ := encodeEvent(epoch, kind, at, data) // a map of strings always encodes
	return b
}
