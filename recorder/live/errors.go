package live

import "errors"

var (
	// ErrRoomNotFound is returned by Start for a room that is not open.
	ErrRoomNotFound = errors.New("live: room not found")
	// ErrTrackNotFound is returned by Start for a track that is not published.
	ErrTrackNotFound = errors.New("live: track not found")
	// ErrNotFound is returned for an unknown recording ID.
	ErrNotFound = errors.New("live: recording not found")
	// ErrNotActive is returned by Stop for a recording that already ended.
	ErrNotActive = errors.New("live: recording not active")
	// ErrBadRequest is returned for a request that cannot be recorded.
	ErrBadRequest = errors.New("live: bad request")
	// ErrClosed is returned once the service is shutting down.
	ErrClosed = errors.New("live: shutting down")
)
