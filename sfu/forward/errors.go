package forward

import "errors"

var (
	// ErrClosed is returned when writing to or attaching to a closed track.
	ErrClosed = errors.New("forward: track closed")
	// ErrLayer is returned for a layer index outside the track's layers.
	ErrLayer = errors.New("forward: no such layer")
	// ErrCodec is returned when a subscriber negotiated no codec matching the publisher's.
	ErrCodec = errors.New("forward: subscriber has no matching codec")
)
