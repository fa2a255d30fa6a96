package room

import "errors"

var (
	// ErrRoomClosed is returned for operations on a closed room.
	ErrRoomClosed = errors.New("room: closed")
	// ErrNotFound is returned for an unknown participant or track.
	ErrNotFound = errors.New("room: not found")
	// ErrNotAllowed is returned when a grant forbids the action.
	ErrNotAllowed = errors.New("room: not allowed")
	// ErrBadRequest is returned for malformed or out-of-order requests.
	ErrBadRequest = errors.New("room: bad request")
	// ErrUnsupportedCodec is returned when a publisher sends a codec the SFU cannot forward.
	ErrUnsupportedCodec = errors.New("room: unsupported codec")
	// ErrLimit is returned when a participant exceeds a limit.
	ErrLimit = errors.New("room: limit exceeded")
)
