package media

import "errors"

var (
	// ErrShortPacket is returned by the RTP payload inspectors when a payload is too short to hold
	// the header they parse.
	ErrShortPacket = errors.New("media: payload too short")
	// ErrNotSynthetic is returned by ParseSyntheticFrame when a payload does not carry the classcast
	// synthetic marker.
	ErrNotSynthetic = errors.New("media: not a synthetic frame")
	// ErrUnsupportedFile is returned when a media file's container or codec is not one the readers handle.
	ErrUnsupportedFile = errors.New("media: unsupported file")
	// ErrEmptyFile is returned when a looping source reaches the end of its file without producing a sample,
	// which would otherwise make it spin.
	ErrEmptyFile = errors.New("media: file holds no samples")
)
