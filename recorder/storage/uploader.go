package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"sync/atomic"
	"time"
)

// FinalMarker is the file the recorder writes last when it finalizes a
// recording (recorder's finalFile). Only directories holding it are
// uploaded: before it, the recorder and its crash recovery still write.
const FinalMarker = "final.json"

// keptLocal are the small files the recorder reads from an asset directory
// itself (Recover checks them), so they stay on disk after an upload.
var keptLocal = []string{FinalMarker, "manifest.json"}

// assetDirPattern is the recorder's recording ID pattern: anything else in
// the root (the catalog database, stray folders) is not a recording.
var assetDirPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// UploaderConfig configures an Uploader.
type UploaderConfig struct {
	// Root is the recorder's root: each finalized recording directory in it
	// is uploaded as Remote key prefix + dir + "/" + file.
	Root   string
	Remote *S3
	// KeepLocal keeps the local copies after a verified upload; by default
	// they are deleted (except the recorder's own small metadata files).
	KeepLocal bool
	// Interval is how often Root is scanned for newly finalized recordings
	// (default 30 s); Kick scans at once.
	Interval time.Duration
	// MinBackoff and MaxBackoff bound the wait before retrying a failed
	// upload; it doubles per failure (defaults 5 s and 10 min).
	MinBackoff, MaxBackoff time.Duration
	// OnAttempt, if set, is called on the uploader's goroutine after each
	// upload attempt of an asset directory (err nil on success, after the
	// local copies were removed). It must not block.
	OnAttempt func(dir string, err error)
	Logger    *slog.Logger // defaults to slog.Default()
}

// UploaderStats are counters since the Uploader started.
type UploaderStats struct {
	Uploaded int64 // asset directories uploaded
	Failed   int64 // failed attempts
	Bytes    int64 // bytes uploaded
	Pending  int   // directories waiting for a retry
}

// Uploader copies finalized recordings to the bucket, writes their
// placement records and then (unless KeepLocal) frees the local disk. It
// is an actor: one goroutine owns the retry state; Close waits for it. A
// failed upload never touches the local copy, and a crash at any step is
// finished by the next scan (uploads are idempotent PUTs; the record is
// written only after every object was verified).
type Uploader struct {
	cfg  UploaderConfig
	log  *slog.Logger
	kick chan struct{}
	stop context.CancelFunc
	done chan struct{}

	retries     map[string]*retryState // owned by run
	bucketReady bool                   // owned by run: EnsureBucket succeeded

	uploaded, failed, bytes atomic.Int64
	pending                 atomic.Int64
}

type retryState struct {
	attempts int
	next     time.Time
}

// NewUploader starts an Uploader; its first scan runs at once.
func NewUploader(cfg UploaderConfig) (*Uploader, error) {
	if cfg.Root == "" || cfg.Remote == nil {
		return nil, fmt.Errorf("%w: uploader needs Root and Remote", ErrS3Config)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 5 * time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(10*time.Minute, cfg.MinBackoff)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	u := &Uploader{cfg: cfg, log: cfg.Logger.With("component", "uploader", "bucket", cfg.Remote.Bucket()),
		kick: make(chan struct{}, 1), stop: cancel, done: make(chan struct{}), retries: map[string]*retryState{}}
	go u.run(ctx)
	return u, nil
}

// Kick asks for a scan now (after a recording was finalized). It never
// blocks.
func (u *Uploader) Kick() {
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// Close stops the uploader and waits for it. An upload under way is cut
// off; it is redone from the start by the next Uploader.
func (u *Uploader) Close() {
	u.stop()
	<-u.done
}

// Stats returns the counters.
func (u *Uploader) Stats() UploaderStats {
	return UploaderStats{Uploaded: u.uploaded.Load(), Failed: u.failed.Load(), Bytes: u.bytes.Load(),
		Pending: int(u.pending.Load())}
}

func (u *Uploader) run(ctx context.Context) {
	defer close(u.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			u.log.Info("uploader closed", "reason", "closed", "pending", len(u.retries))
			return
		case <-u.kick:
		case <-timer.C:
		}
		wait := u.pass(ctx)
		timer.Stop()
		select { // drain a fire that raced with Stop
		case <-timer.C:
		default:
		}
		timer.Reset(wait)
	}
}

// pass uploads what is due and returns how long to sleep until the next
// scan or retry.
func (u *Uploader) pass(ctx context.Context) time.Duration {
	wait := u.cfg.Interval
	entries, err := os.ReadDir(u.cfg.Root)
	if err != nil {
		u.log.Warn("cannot list recordings", "root", u.cfg.Root, "err", err)
		return wait
	}
	l, err := NewLocal(u.cfg.Root)
	if err != nil {
		u.log.Warn("cannot open root", "err", err)
		return wait
	}
	defer l.Close()
	seen := map[string]bool{}
	for _, e := range entries {
		dir := e.Name()
		if ctx.Err() != nil {
			return wait
		}
		if !e.IsDir() || !assetDirPattern.MatchString(dir) {
			continue
		}
		full := filepath.Join(u.cfg.Root, dir)
		if _, err := os.Stat(filepath.Join(full, FinalMarker)); err != nil {
			continue // still recording, or not a recording
		}
		seen[dir] = true
		if d := u.visit(ctx, l, dir, full); d > 0 {
			wait = min(wait, d)
		}
	}
	for dir := range u.retries {
		if !seen[dir] {
			delete(u.retries, dir) // removed by hand: nothing left to retry
		}
	}
	u.pending.Store(int64(len(u.retries)))
	return wait
}

// visit handles one finalized directory and returns the time until its
// retry is due (0: nothing to wait for).
func (u *Uploader) visit(ctx context.Context, l *Local, dir, full string) time.Duration {
	p, perr := readPlacement(l, dir)
	if perr != nil {
		u.log.Warn("placement record unreadable; uploading again", "dir", dir, "err", perr)
	}
	if p != nil {
		if !u.cfg.KeepLocal && !p.LocalRemoved {
			u.removeLocal(full, p)
		}
		return 0
	}
	rs := u.retries[dir]
	if rs != nil {
		if d := time.Until(rs.next); d > 0 {
			return d
		}
	}
	start := time.Now()
	p, err := u.upload(ctx, dir, full)
	if ctx.Err() != nil {
		return 0 // closing: the next Uploader redoes it
	}
	if err != nil {
		u.failed.Add(1)
		if rs == nil {
			rs = &retryState{}
			u.retries[dir] = rs
		}
		rs.attempts++
		d := u.backoff(rs.attempts)
		rs.next = time.Now().Add(d)
		u.log.Warn("upload failed; the local copy is kept", "dir", dir, "attempt", rs.attempts,
			"retry_in", d.Round(time.Millisecond), "err", err)
		u.reportAttempt(dir, err)
		return d
	}
	delete(u.retries, dir)
	var n int64
	for _, o := range p.Objects {
		n += o.Size
	}
	u.uploaded.Add(1)
	u.bytes.Add(n)
	el := time.Since(start)
	u.log.Info("recording uploaded", "dir", dir, "objects", len(p.Objects), "bytes", n,
		"took", el.Round(time.Millisecond), "mib_per_s", fmt.Sprintf("%.1f", float64(n)/(1<<20)/max(el.Seconds(), 1e-6)))
	if !u.cfg.KeepLocal {
		u.removeLocal(full, p)
	}
	u.reportAttempt(dir, nil)
	return 0
}

func (u *Uploader) reportAttempt(dir string, err error) {
	if u.cfg.OnAttempt != nil {
		u.cfg.OnAttempt(dir, err)
	}
}

// backoff is MinBackoff·2^(attempts-1), capped, with ±20 % jitter so that
// many assets failing together do not retry in lockstep.
func (u *Uploader) backoff(attempts int) time.Duration {
	d := u.cfg.MinBackoff
	for i := 1; i < attempts && d < u.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, u.cfg.MaxBackoff)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// upload puts every regular file of the directory (not symlinks, not dot
// files) and checks each object's size before writing the record.
func (u *Uploader) upload(ctx context.Context, dir, full string) (*Placement, error) {
	files, err := assetFiles(full)
	if err != nil {
		return nil, err
	}
	r := u.cfg.Remote
	if !u.bucketReady {
		bctx, cancel := context.WithTimeout(ctx, requestTimeout)
		err := r.EnsureBucket(bctx)
		cancel()
		if err != nil {
			return nil, err
		}
		u.bucketReady = true
	}
	p := &Placement{Backend: "s3", Endpoint: r.Endpoint(), Bucket: r.Bucket(), Prefix: r.Key(dir + "/")}
	for _, name := range files {
		local := filepath.Join(full, filepath.FromSlash(name))
		st, err := os.Stat(local)
		if err != nil {
			return nil, fmt.Errorf("storage: upload %s: %w", name, err)
		}
		key := p.Prefix + name
		// A server that accepts the connection and then hangs must not
		// stall every later upload: each request gets a deadline, a
		// generous one for the body (≥ 256 KiB/s).
		pctx, cancel := context.WithTimeout(ctx, requestTimeout+time.Duration(st.Size()/(256<<10))*time.Second)
		_, etag, err := r.Put(pctx, key, local)
		cancel()
		if err != nil {
			return nil, err
		}
		sctx, cancel := context.WithTimeout(ctx, requestTimeout)
		got, err := r.Stat(sctx, p.Bucket, key)
		cancel()
		if err != nil {
			return nil, err
		}
		if got != st.Size() {
			return nil, fmt.Errorf("%w: %s is %d bytes in the bucket, %d on disk", ErrUploadMismatch, key, got, st.Size())
		}
		p.Objects = append(p.Objects, PlacedObject{Name: name, Size: got, ETag: etag})
	}
	p.Uploaded = time.Now().UTC()
	if err := writePlacement(full, p); err != nil {
		return nil, err
	}
	return p, nil
}

// assetFiles lists the regular files under dir, slash-separated and sorted.
func assetFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if p != dir && name[0] == '.' {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || (filepath.Dir(p) == dir && name == PlacementFile) {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: list %s: %w", dir, err)
	}
	sort.Strings(out)
	return out, nil
}

// removeLocal deletes the uploaded local copies (keeping the recorder's
// metadata files), then empty subdirectories, then marks the record.
func (u *Uploader) removeLocal(full string, p *Placement) {
	var errs error
	for _, o := range p.Objects {
		if slices.Contains(keptLocal, o.Name) {
			continue
		}
		if err := os.Remove(filepath.Join(full, filepath.FromSlash(o.Name))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = errors.Join(errs, err)
		}
	}
	var dirs []string
	_ = filepath.WalkDir(full, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && path != full {
			dirs = append(dirs, path)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- { // deepest first
		_ = os.Remove(dirs[i]) // fails, as it should, on a non-empty one
	}
	if errs != nil {
		u.log.Warn("local copies not all removed; retrying at the next scan", "dir", filepath.Base(full), "err", errs)
		return
	}
	p.LocalRemoved = true
	if err := writePlacement(full, p); err != nil {
		u.log.Warn("placement record not updated", "dir", filepath.Base(full), "err", err)
	}
}
