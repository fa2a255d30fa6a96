// Package recorder records live classrooms per track, without transcoding,
// and turns each recording into a micro-class asset.
//
// The server creates one Recorder at start (New, then Recover to finalize
// recordings a crash cut off), calls Start for each room recording (mapping
// LiveKit Egress requests and the roomRecord grant onto it), AddTrack /
// RemoveTrack as tracks come and go, AddEvent for the lesson timeline, and
// Stop. Each track is "just another subscriber": a trackwriter.Writer is
// attached to the published track at the top quality.
package recorder

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/classcast/classcast/recorder/catalog"
	"github.com/classcast/classcast/sfu/track"
)

// Config configures a Recorder.
type Config struct {
	// Root is the storage root; each recording is a directory in it.
	Root string
	// Catalog receives an asset for each finalized recording. Required.
	Catalog *catalog.Catalog
	// FFmpegPath is used for posters. "" looks ffmpeg up in PATH; "-"
	// disables posters.
	FFmpegPath string
	// Metrics defaults to NewMetrics().
	Metrics *Metrics
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
	// NoSync skips fsync after each fragment (benchmarks only).
	NoSync bool
}

// Recorder starts recordings and finalizes them into assets.
type Recorder struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	active map[string]*Recording
}

// New checks cfg and creates the root directory.
func New(cfg Config) (*Recorder, error) {
	if cfg.Root == "" || cfg.Catalog == nil {
		return nil, fmt.Errorf("recorder: Root and Catalog are required")
	}
	if err := os.MkdirAll(cfg.Root, 0o755); err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Recorder{cfg: cfg, log: cfg.Logger.With("component", "recorder"), active: map[string]*Recording{}}, nil
}

// Metrics returns the collectors to register.
func (r *Recorder) Metrics() *Metrics { return r.cfg.Metrics }

// StartRequest describes a recording to start.
type StartRequest struct {
	// ID names the recording and its asset. "" picks a random "REC_…" one.
	ID     string
	Room   string
	Meta   Meta
	Tracks []track.Published // recorded from the start; more via AddTrack
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Start begins a recording. ctx bounds only the start itself; the
// recording lives until Stop (or Close of the Recorder's caller).
func (r *Recorder) Start(ctx context.Context, req StartRequest) (*Recording, error) {
	if req.ID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		req.ID = "REC_" + hex.EncodeToString(b[:])
	}
	if !idPattern.MatchString(req.ID) {
		return nil, fmt.Errorf("%w: %q", ErrBadID, req.ID)
	}
	dir := filepath.Join(r.cfg.Root, req.ID)
	r.mu.Lock()
	if _, ok := r.active[req.ID]; ok {
		r.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrExists, req.ID)
	}
	if _, err := os.Stat(dir); err == nil {
		r.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrExists, req.ID)
	}
	rec, err := newRecording(r, req, dir)
	if err != nil {
		r.mu.Unlock()
		return nil, err
	}
	r.active[req.ID] = rec
	r.mu.Unlock()
	for _, p := range req.Tracks {
		if err := rec.AddTrack(ctx, p); err != nil {
			rec.log.Warn("track not recorded", "track", p.Info().SID, "err", err)
		}
	}
	return rec, nil
}

// Get returns an active recording.
func (r *Recorder) Get(id string) (*Recording, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, ok := r.active[id]
	return rec, ok
}

func (r *Recorder) forget(id string) {
	r.mu.Lock()
	delete(r.active, id)
	r.mu.Unlock()
}

// Close stops every active recording and waits for them to be finalized.
func (r *Recorder) Close() {
	r.mu.Lock()
	recs := make([]*Recording, 0, len(r.active))
	for _, rec := range r.active {
		recs = append(recs, rec)
	}
	r.mu.Unlock()
	for _, rec := range recs {
		_, _ = rec.Stop(context.Background())
	}
}

// Recover finalizes every recording under Root that has no finalize marker
// (cut off by a crash): torn last fragments are truncated, and the asset
// is cataloged with status "recovered". Call it once at start, before
// Start. It returns the IDs recovered.
func (r *Recorder) Recover(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir(r.cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("recorder: recover: %w", err)
	}
	var done []string
	for _, e := range entries {
		id := e.Name()
		dir := filepath.Join(r.cfg.Root, id)
		if !e.IsDir() || !idPattern.MatchString(id) {
			continue
		}
		if _, ok := r.Get(id); ok {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, finalFile)); err == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, manifestFile)); err != nil {
			continue
		}
		a, err := r.finalize(ctx, dir, catalog.StatusRecovered, "recovered after the recorder stopped unexpectedly")
		if err != nil {
			r.log.Error("recovery failed", "recording", id, "err", err)
			continue
		}
		r.cfg.Metrics.recordings.WithLabelValues(catalog.StatusRecovered).Inc()
		r.log.Info("recording recovered", "recording", id, "duration", a.Duration)
		done = append(done, id)
	}
	return done, nil
}
