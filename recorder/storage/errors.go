package storage

import "errors"

var (
	// ErrBadPath is returned for a name that is absolute, climbs out with
	// "..", holds a NUL or backslash, or resolves (through symlinks) outside
	// the storage root.
	ErrBadPath = errors.New("storage: path outside the storage root")
	// ErrNotExist is returned for a missing object.
	ErrNotExist = errors.New("storage: no such object")
)
