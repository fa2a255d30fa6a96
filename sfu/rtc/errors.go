package rtc

import "errors"

var (
	// ErrListen means the media port could not be opened.
	ErrListen = errors.New("rtc: cannot open media port")
	// ErrNoCodec means no codec the SFU supports was negotiated.
	ErrNoCodec = errors.New("rtc: no supported codec negotiated")
)
