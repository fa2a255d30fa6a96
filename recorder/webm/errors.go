package webm

import "errors"

var (
	// ErrBadInput is returned for tracks or frames a WebM file cannot hold.
	ErrBadInput = errors.New("webm: bad input")
	// ErrShortSource is returned when a source holds fewer bytes than a
	// frame says (the file changed under the layout).
	ErrShortSource = errors.New("webm: source shorter than its frames")
)
