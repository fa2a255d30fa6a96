package storage

import "errors"

var (
	// ErrBadPath is returned for a name that is absolute, climbs out with
	// "..", holds a NUL or backslash, or resolves (through symlinks) outside
	// the storage root.
	ErrBadPath = errors.New("storage: path outside the storage root")
	// ErrNotExist is returned for a missing object.
	ErrNotExist = errors.New("storage: no such object")
	// ErrS3Config is returned by NewS3 for an unusable configuration.
	ErrS3Config = errors.New("storage: bad s3 configuration")
	// ErrClosed is returned when reading an object after Close.
	ErrClosed = errors.New("storage: object closed")
	// ErrBadSeek is returned for a negative offset or an unknown whence.
	ErrBadSeek = errors.New("storage: bad seek")
	// ErrUploadMismatch is returned when the bucket holds an object of
	// another size than the local file just uploaded.
	ErrUploadMismatch = errors.New("storage: uploaded object differs from the local file")
)
