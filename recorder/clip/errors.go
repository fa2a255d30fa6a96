package clip

import "errors"

var (
	// ErrEmpty is returned when a range holds no sample of a track.
	ErrEmpty = errors.New("clip: no samples in range")
	// ErrNoFFmpeg is returned by Poster when ffmpeg is not installed.
	ErrNoFFmpeg = errors.New("clip: ffmpeg not available")
)
