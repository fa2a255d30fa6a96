package recorder

import "errors"

var (
	// ErrClosed is returned when using a recording that has stopped.
	ErrClosed = errors.New("recorder: recording closed")
	// ErrUnsupportedCodec is returned by AddTrack for a codec that cannot be
	// stored without transcoding.
	ErrUnsupportedCodec = errors.New("recorder: unsupported codec")
	// ErrExists is returned by Start for an ID already in use.
	ErrExists = errors.New("recorder: recording exists")
	// ErrBadID is returned for a recording ID that is not [A-Za-z0-9_-]{1,64}.
	ErrBadID = errors.New("recorder: bad recording id")
	// ErrBusy is returned by PostEvent when the timeline queue is full.
	ErrBusy = errors.New("recorder: timeline queue full")
	// ErrStopped is the close reason of a recording stopped by Stop.
	ErrStopped = errors.New("stopped")
)
