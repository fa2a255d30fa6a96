// Package atomicfile replaces small files so that a crash leaves either the
// old contents or the new ones, never a torn file: the recorder's manifests
// and the storage placement records go through it.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces dir/name with data through a synced temporary file in the
// same directory and a rename, then syncs the directory (best effort: some
// filesystems refuse a directory fsync). The temporary file is removed on
// failure.
func Write(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, "."+name+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
