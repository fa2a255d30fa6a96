package codec

import (
	"errors"
	"fmt"
)

var (
	// ErrTruncated is returned when a payload ends before the header that its
	// own flags announce.
	ErrTruncated = errors.New("codec: payload truncated")
	// ErrInvalidFmtp is returned for an SDP fmtp parameter that does not
	// parse.
	ErrInvalidFmtp = errors.New("codec: invalid fmtp parameter")
)

// Wrapped once at start-up so that per-packet failures return without
// allocating.
var (
	errVP8Truncated = fmt.Errorf("vp8 payload descriptor: %w", ErrTruncated)
)
