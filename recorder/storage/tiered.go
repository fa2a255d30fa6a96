package storage

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Tiered is the Store replay reads through when a bucket is configured:
// an asset whose directory holds a placement record is read from the
// bucket, any other from local disk. While the local copy is still there
// (kept, or not yet deleted) it also serves when the bucket is unreachable.
type Tiered struct {
	local  *Local
	remote *S3
	log    *slog.Logger

	mu     sync.Mutex
	placed map[string]*Placement // asset dir → record; records never go away

	lastWarn atomic.Int64 // unix nanos of the last fallback warning
}

// placedCacheSize bounds the records kept in memory; past it the cache
// starts over (a record costs one small local read to load again).
const placedCacheSize = 4096

// NewTiered combines the local store and the bucket. log may be nil
// (slog.Default()).
func NewTiered(local *Local, remote *S3, log *slog.Logger) *Tiered {
	if log == nil {
		log = slog.Default()
	}
	return &Tiered{local: local, remote: remote, log: log, placed: map[string]*Placement{}}
}

// Open implements Store.
func (t *Tiered) Open(name string) (Object, error) {
	c, err := CleanName(name)
	if err != nil {
		return nil, err
	}
	dir, rest, ok := strings.Cut(c, "/")
	if !ok {
		return t.local.Open(c)
	}
	p := t.placement(dir)
	if p == nil || !p.Has(rest) {
		o, err := t.local.Open(c)
		if err == nil || !errors.Is(err, ErrNotExist) {
			return o, err
		}
		// The uploader may have just written the record and removed the
		// local copy between our two looks.
		if p = t.placement(dir); p == nil || !p.Has(rest) {
			return nil, err
		}
	}
	o, rerr := t.remote.OpenKey(p.Bucket, p.Prefix+rest)
	if rerr == nil {
		return o, nil
	}
	if p.LocalRemoved {
		return nil, rerr
	}
	o, err = t.local.Open(c)
	if err != nil {
		return nil, rerr
	}
	if now := time.Now().UnixNano(); now-t.lastWarn.Load() > int64(10*time.Second) {
		t.lastWarn.Store(now)
		t.log.Warn("bucket unreadable: serving the local copy", "object", c, "err", rerr)
	}
	return o, nil
}

func (t *Tiered) placement(dir string) *Placement {
	t.mu.Lock()
	p := t.placed[dir]
	t.mu.Unlock()
	if p != nil && p.LocalRemoved {
		return p // final: nothing about it changes any more
	}
	p, err := readPlacement(t.local, dir)
	if err != nil {
		t.log.Warn("placement record unreadable: reading the local copy", "dir", dir, "err", err)
		return nil
	}
	if p == nil {
		return nil
	}
	t.mu.Lock()
	if len(t.placed) >= placedCacheSize {
		clear(t.placed)
	}
	t.placed[dir] = p
	t.mu.Unlock()
	return p
}
