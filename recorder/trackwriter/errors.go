package trackwriter

import "errors"

var (
	// ErrUnsupportedCodec is returned by New for a codec the writer cannot store.
	ErrUnsupportedCodec = errors.New("trackwriter: unsupported codec")
	// ErrWrite wraps a failed write or sync of a track file (disk full, I/O
	// error). The file is cut back to its last complete fragment first.
	ErrWrite = errors.New("trackwriter: write failed")
	// ErrBadConfig is returned by New for an unusable configuration.
	ErrBadConfig = errors.New("trackwriter: bad config")
)
