package rtsp

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors of the package. Callers test with errors.Is.
var (
	// ErrNotFound is returned (and wrapped by Host implementations) when a
	// room, participant or path does not exist.
	ErrNotFound = errors.New("not found")
	// ErrBadPath is returned for an RTSP path that is not /<room>/<name>.
	ErrBadPath = errors.New("bad path")
	// ErrBadSDP is returned for a session description that cannot be parsed.
	ErrBadSDP = errors.New("bad SDP")
	// ErrUnsupportedCodec is wrapped by *UnsupportedCodecError.
	ErrUnsupportedCodec = errors.New("unsupported codec")
	// ErrNoTracks is returned when a source offers no usable track.
	ErrNoTracks = errors.New("no supported tracks")
	// ErrUnauthorized is returned when credentials are missing or wrong.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrStalled is the reason a pull source reconnects when no packet arrived
	// for SourceConfig.StallTimeout.
	ErrStalled = errors.New("source stalled")
	// ErrClosed is returned by operations on a closed Server, Manager or Source.
	ErrClosed = errors.New("closed")
	// ErrExists is returned by Manager.Add for a source ID already in use.
	ErrExists = errors.New("already exists")
	// ErrBadConfig is returned for an invalid configuration.
	ErrBadConfig = errors.New("bad configuration")
)

// SupportedCodecs names what classcast accepts over RTSP, for error messages.
const SupportedCodecs = "H264, Opus, PCMU, PCMA"

// UnsupportedCodecError names the codecs a source offered that classcast does
// not carry, and what it does carry. Its message is sent to RTSP publishers as
// the status reason, so it is written for the person running the encoder.
type UnsupportedCodecError struct {
	// Codecs lists the rejected codecs, e.g. "MPEG-4 Audio" for AAC.
	Codecs []string
}

func (e *UnsupportedCodecError) Error() string {
	msg := fmt.Sprintf("unsupported codec %s (supported: %s)", strings.Join(e.Codecs, ", "), SupportedCodecs)
	for _, c := range e.Codecs {
		if c == "AAC" {
			// AAC is the common case (camera and ffmpeg defaults): say how to fix it.
			msg += "; re-encode audio to Opus (ffmpeg -c:a libopus)"
			break
		}
	}
	return msg
}

// Unwrap lets errors.Is(err, ErrUnsupportedCodec) match.
func (e *UnsupportedCodecError) Unwrap() error { return ErrUnsupportedCodec }

var (
	errEmptySegment = errors.New("empty segment")
	errLongSegment  = errors.New("segment longer than 128 bytes")
	errDotSegment   = errors.New("dot segment")
	errBadChar      = errors.New("character not allowed:")
)

// errNoCredentials: the client sent none yet; it is challenged, not refused.
var errNoCredentials = fmt.Errorf("%w: no credentials", ErrUnauthorized)
