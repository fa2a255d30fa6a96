// Package storage is where finished assets are read from. Local serves a
// directory and is the default. With a bucket configured, S3 reads an
// S3-compatible object store (AWS S3, MinIO, Ceph RGW, versitygw) by
// ranged GETs, the Uploader copies each finalized recording directory to
// it and records that in the directory's placement record (storage.json),
// and Tiered reads every asset from wherever that record says it is.
// Recordings are always written to local disk first: fragments are
// fsynced and torn tails truncated in place by crash recovery, which an
// object store cannot do.
package storage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// Object is an open stored file.
type Object interface {
	io.ReadSeekCloser
	io.ReaderAt
	Size() int64
	ModTime() time.Time
}

// Store reads assets by slash-separated names relative to its root.
type Store interface {
	Open(name string) (Object, error)
}

// Local is a Store over a directory. Names can never reach outside it:
// they are checked lexically and then opened through os.Root, which
// refuses symlinks that lead out of the root.
type Local struct {
	root *os.Root
}

// NewLocal opens dir (which must exist) as a store.
func NewLocal(dir string) (*Local, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: open root: %w", err)
	}
	return &Local{root: r}, nil
}

// Close releases the root directory.
func (l *Local) Close() error { return l.root.Close() }

// CleanName checks a slash-separated relative name and returns it cleaned.
func CleanName(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, "\x00\\") || path.IsAbs(name) {
		return "", fmt.Errorf("%w: %q", ErrBadPath, name)
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return "", fmt.Errorf("%w: %q", ErrBadPath, name)
		}
	}
	c := path.Clean(name)
	if c == "." || !fs.ValidPath(c) {
		return "", fmt.Errorf("%w: %q", ErrBadPath, name)
	}
	return c, nil
}

type localObject struct {
	*os.File
	info fs.FileInfo
}

func (o localObject) Size() int64        { return o.info.Size() }
func (o localObject) ModTime() time.Time { return o.info.ModTime() }

// Open opens a regular file.
func (l *Local) Open(name string) (Object, error) {
	c, err := CleanName(name)
	if err != nil {
		return nil, err
	}
	f, err := l.root.Open(c)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotExist, c)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrBadPath, c, err)
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s is not a file", ErrNotExist, c)
	}
	return localObject{File: f, info: info}, nil
}
