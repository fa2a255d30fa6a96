package allocator

import "errors"

// ErrUnknownTrack is returned when an event names a track the subscriber's
// allocator has never been told about.
var ErrUnknownTrack = errors.New("allocator: unknown track")
