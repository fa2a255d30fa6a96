package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/livekit/protocol/auth"

	"github.com/classcast/classcast/recorder"
	"github.com/classcast/classcast/recorder/catalog"
	"github.com/classcast/classcast/recorder/live"
	"github.com/classcast/classcast/recorder/replay"
	"github.com/classcast/classcast/recorder/storage"
	"github.com/classcast/classcast/signaling"
)

// DefaultDataDir is where `classcast serve` keeps recordings unless told
// otherwise (created if missing).
const DefaultDataDir = "./data/recordings"

// RecorderConfig configures recording (the recorder package) on this node.
type RecorderConfig struct {
	// DataDir holds the recordings and the asset catalog; created if
	// missing. "" disables recording (`classcast serve` defaults it to
	// ./data/recordings).
	DataDir string `yaml:"data_dir"`
	// Record chooses the rooms recorded automatically from their first
	// join: "all", "none" (default) or a comma-separated list of room
	// names. Room metadata {"classcast":{"record":true|false}} overrides it
	// per room; the Egress API starts and stops recordings of any room.
	Record string `yaml:"record"`
	// FFmpeg is the ffmpeg binary used for posters; "" looks it up in PATH,
	// "-" disables posters.
	FFmpeg string `yaml:"ffmpeg"`
	// S3, when it names a bucket, uploads each finalized recording to an
	// S3-compatible object store and replays uploaded assets from it.
	// Recordings are still written to DataDir first (crash recovery needs
	// local files); without a bucket everything stays on local disk.
	S3 S3Config `yaml:"s3"`

	// rt is the running recorder. It lives here, not in Node, so that the
	// wiring stays in this file.
	rt *recorderRuntime
}

// S3Config is the object store of finalized recordings.
type S3Config struct {
	storage.S3Config `yaml:",inline"`
	// KeepLocal keeps the local copies after a verified upload (by default
	// they are deleted to free the disk; a failed upload never deletes).
	KeepLocal bool `yaml:"keep_local"`
}

// LoadS3Env merges the CLASSCAST_S3_* variables into the S3 settings.
func (c *RecorderConfig) LoadS3Env(getenv func(string) string) error {
	for name, dst := range map[string]*string{
		"CLASSCAST_S3_ENDPOINT": &c.S3.Endpoint, "CLASSCAST_S3_BUCKET": &c.S3.Bucket,
		"CLASSCAST_S3_REGION": &c.S3.Region, "CLASSCAST_S3_ACCESS_KEY": &c.S3.AccessKey,
		"CLASSCAST_S3_SECRET_KEY": &c.S3.SecretKey, "CLASSCAST_S3_PREFIX": &c.S3.Prefix,
	} {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	for name, dst := range map[string]*bool{"CLASSCAST_S3_PATH_STYLE": &c.S3.PathStyle, "CLASSCAST_S3_KEEP_LOCAL": &c.S3.KeepLocal} {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%w: %s=%q: %w", ErrConfig, name, v, err)
			}
			*dst = b
		}
	}
	return nil
}

// autoRecord turns Record into a room predicate (nil for none).
func (c RecorderConfig) autoRecord() func(string) bool {
	v := strings.TrimSpace(c.Record)
	switch strings.ToLower(v) {
	case "", "none":
		return nil
	case "all":
		return func(string) bool { return true }
	}
	set := map[string]bool{}
	for _, n := range strings.Split(v, ",") {
		if n = strings.TrimSpace(n); n != "" {
			set[n] = true
		}
	}
	return func(name string) bool { return set[name] }
}

type recorderRuntime struct {
	cat      *catalog.Catalog
	store    *storage.Local
	remote   *storage.S3       // nil without a bucket
	uploader *storage.Uploader // nil without a bucket
	rec      *recorder.Recorder
	live     *live.Service
}

// replayStore is what replay reads: local disk, or local and the bucket.
func (rt *recorderRuntime) replayStore(n *Node) storage.Store {
	if rt.remote == nil {
		return rt.store
	}
	return storage.NewTiered(rt.store, rt.remote, n.log.With("component", "storage"))
}

// startRecorder opens the catalog, recovers recordings a crash cut off,
// starts the room recordings service and mounts its HTTP routes in front
// of the node's handler: /api/assets, /media/ (replay) and the Egress API.
// Called after the HTTP server is built and before it serves, so recovery
// is done before any room opens. A failure disables recording (logged as
// an alert) rather than the node: the live classes go on.
func (n *Node) startRecorder() {
	mux := http.NewServeMux()
	mux.Handle("/", n.http.Handler)
	n.http.Handler = mux
	keys := signaling.Keys(n.cfg.Keys)
	rt, err := n.openRecorder()
	if err != nil {
		n.log.Error("ALERT: recording unavailable", "data_dir", n.cfg.Recorder.DataDir, "err", err)
	}
	if rt == nil {
		prefix, h := signaling.NewEgressHandler(keys, nil)
		mux.Handle(prefix, h)
		return
	}
	n.cfg.Recorder.rt = rt
	n.registry.MustRegister(rt.rec.Metrics())
	prefix, h := signaling.NewEgressHandler(keys, rt.live)
	mux.Handle(prefix, h)
	cfg := replay.Config{Catalog: rt.cat, Store: rt.replayStore(n), Auth: &tokenAuthorizer{keys: keys, cat: rt.cat, query: true},
		Logger: n.log.With("component", "replay")}
	// <video src> and hls.js cannot send an Authorization header: media and
	// playlists take the token as ?access_token= too, as LiveKit's /rtc does.
	cfg.TokenParam = "access_token"
	rh := replay.New(cfg)
	for _, p := range []string{"/api/assets", "/api/assets/", "/media/"} {
		mux.Handle(p, rh)
	}
}

func (n *Node) openRecorder() (*recorderRuntime, error) {
	rc := n.cfg.Recorder
	if rc.DataDir == "" {
		n.log.Info("recording disabled: no data dir")
		return nil, nil
	}
	if err := os.MkdirAll(rc.DataDir, 0o755); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt := &recorderRuntime{}
	var err error
	if rt.cat, err = catalog.Open(ctx, filepath.Join(rc.DataDir, "catalog.db")); err != nil {
		return nil, err
	}
	fail := func(err error) (*recorderRuntime, error) {
		if rt.remote != nil {
			_ = rt.remote.Close()
		}
		if rt.store != nil {
			_ = rt.store.Close()
		}
		_ = rt.cat.Close()
		return nil, err
	}
	if rt.store, err = storage.NewLocal(rc.DataDir); err != nil {
		return fail(err)
	}
	if rc.S3.Enabled() {
		if rt.remote, err = storage.NewS3(rc.S3.S3Config); err != nil {
			return fail(err)
		}
	}
	log := n.log.With("component", "recorder")
	rt.rec, err = recorder.New(recorder.Config{Root: rc.DataDir, Catalog: rt.cat, FFmpegPath: rc.FFmpeg, Logger: log})
	if err != nil {
		return fail(err)
	}
	recovered, err := rt.rec.Recover(ctx)
	if err != nil {
		return fail(err)
	}
	if len(recovered) > 0 {
		n.log.Warn("recordings cut off by the last stop were recovered", "recordings", recovered)
	}
	rt.live, err = live.New(live.Config{Recorder: rt.rec, Catalog: rt.cat, Rooms: n.rooms, Root: rc.DataDir,
		AutoRecord: rc.autoRecord(), Logger: log})
	if err != nil {
		return fail(err)
	}
	if rt.remote != nil {
		// Started after Recover, so recovered recordings are uploaded too.
		rt.uploader, err = storage.NewUploader(storage.UploaderConfig{Root: rc.DataDir, Remote: rt.remote,
			KeepLocal: rc.S3.KeepLocal, Interval: uploadScanInterval, Logger: n.log})
		if err != nil {
			_ = rt.live.Close(ctx)
			return fail(err)
		}
		n.log.Info("finalized recordings go to object storage", "endpoint", rt.remote.Endpoint(),
			"bucket", rt.remote.Bucket(), "prefix", rc.S3.Prefix, "keep_local", rc.S3.KeepLocal)
	}
	n.log.Info("recording enabled", "data_dir", rc.DataDir, "auto_record", rc.Record)
	return rt, nil
}

// uploadScanInterval is how often the data dir is scanned for recordings
// finalized since (the recorder has no finalize callback to kick it).
const uploadScanInterval = 15 * time.Second

// closeRecorder stops every recording and finalizes it within ctx (the
// shutdown grace); what is left over is recovered at the next start, and
// what is not uploaded yet is uploaded after the next start.
func (n *Node) closeRecorder(ctx context.Context) {
	rt := n.cfg.Recorder.rt
	if rt == nil {
		return
	}
	if rt.uploader != nil {
		rt.uploader.Close() // an upload cut off here is redone from the start
	}
	if err := rt.live.Close(ctx); err != nil {
		return // still finalizing: keep the catalog open for it
	}
	rt.rec.Close()
	if rt.remote != nil {
		_ = rt.remote.Close()
	}
	_ = rt.store.Close()
	_ = rt.cat.Close()
}

// Timeline is what the classroom layer reports lesson events to; it has the
// method set of the classroom package's own Timeline interface.
type Timeline interface {
	AddEvent(kind string, at time.Time, data any)
	AddChapter(at time.Time, title string)
}

type noTimeline struct{}

func (noTimeline) AddEvent(string, time.Time, any) {}
func (noTimeline) AddChapter(time.Time, string)    {}

// RecorderTimeline returns the timeline of a room's recordings. It writes
// to the recordings active at each call (none: nothing), so it may be
// looked up once per room, e.g. when the room is created; its methods never
// block and may be called on the room loop.
func (n *Node) RecorderTimeline(roomName string) Timeline {
	if rt := n.cfg.Recorder.rt; rt != nil {
		return rt.live.Timeline(roomName)
	}
	return noTimeline{}
}

// tokenAuthorizer checks LiveKit access tokens for the replay API:
// roomAdmin or roomRecord may list, read and download (a token naming a
// room only that room's assets; listing needs a token naming none); a
// token that may join the asset's room may play it.
type tokenAuthorizer struct {
	keys  signaling.Keys
	cat   *catalog.Catalog
	query bool // accept ?access_token= (<video> and hls.js cannot send headers)
}

func (a *tokenAuthorizer) token(r *http.Request) string {
	if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(h)
	}
	if a.query {
		return r.URL.Query().Get("access_token")
	}
	return ""
}

// Authorize implements replay.Authorizer.
func (a *tokenAuthorizer) Authorize(r *http.Request, action replay.Action, assetID string) error {
	g, err := a.keys.Verify(a.token(r))
	if err != nil {
		return fmt.Errorf("%w: %w", replay.ErrUnauthorized, err)
	}
	v := g.Video
	if v == nil {
		v = &auth.VideoGrant{}
	}
	manager := v.RoomAdmin || v.RoomRecord
	if action == replay.ActionList {
		if manager && v.Room == "" {
			return nil
		}
		return fmt.Errorf("%w: listing needs roomAdmin or roomRecord without a room", replay.ErrForbidden)
	}
	if manager && v.Room == "" {
		return nil // the handler answers 404 for an unknown asset
	}
	as, err := a.cat.Get(r.Context(), assetID)
	if errors.Is(err, catalog.ErrNotFound) {
		return fmt.Errorf("%w: %s", replay.ErrForbidden, assetID) // existence is not told to others
	}
	if err != nil {
		return err
	}
	switch {
	case v.Room != as.Room:
		return fmt.Errorf("%w: token is for another room", replay.ErrForbidden)
	case manager:
		return nil
	case action == replay.ActionPlay && v.RoomJoin:
		return nil
	}
	return fmt.Errorf("%w: token may not %s this asset", replay.ErrForbidden, action)
}
