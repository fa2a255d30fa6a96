package fmp4x

import "errors"

var (
	// ErrUnsupportedCodec is returned for a codec the recorder cannot store.
	ErrUnsupportedCodec = errors.New("fmp4x: unsupported codec")
	// ErrNoInit is returned when a file does not start with ftyp+moov.
	ErrNoInit = errors.New("fmp4x: no init segment")
	// ErrBadBox is returned for a malformed box.
	ErrBadBox = errors.New("fmp4x: malformed box")
)
