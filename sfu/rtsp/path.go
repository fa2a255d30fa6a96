package rtsp

import (
	"fmt"
	"strings"
)

// Path is a parsed RTSP path: /<room>/<participant>[/<view>].
type Path struct {
	Room        string
	Participant string
	// View selects a subset of the participant's tracks for readers:
	// ViewAll (empty), ViewCamera or ViewWhiteboard. Publishers must not
	// give one.
	View string
}

// Views a reader may append to /<room>/<participant>.
const (
	ViewAll        = ""
	ViewCamera     = "camera"     // camera video + microphone audio
	ViewWhiteboard = "whiteboard" // screen-share video (+ its audio)
)

const maxSegmentLen = 128

// ParsePath parses an RTSP URL path as given by gortsplib (leading slash,
// no query). Segments are limited to letters, digits and "-_.~@" so that a
// path can never address anything but one participant (no "..", no empty
// segments, no percent-escapes).
func ParsePath(p string) (Path, error) {
	rest, ok := strings.CutPrefix(p, "/")
	if !ok {
		return Path{}, fmt.Errorf("%w: %q must start with /", ErrBadPath, p)
	}
	rest = strings.TrimSuffix(rest, "/")
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return Path{}, fmt.Errorf("%w: %q is not /<room>/<participant>", ErrBadPath, p)
	}
	for _, s := range parts {
		if err := checkSegment(s); err != nil {
			return Path{}, fmt.Errorf("%w: %q: %w", ErrBadPath, p, err)
		}
	}
	out := Path{Room: parts[0], Participant: parts[1]}
	if len(parts) == 3 {
		switch parts[2] {
		case ViewCamera, ViewWhiteboard:
			out.View = parts[2]
		default:
			return Path{}, fmt.Errorf("%w: %q: unknown view %q (want %s or %s)",
				ErrBadPath, p, parts[2], ViewCamera, ViewWhiteboard)
		}
	}
	return out, nil
}

// String returns the canonical path.
func (p Path) String() string {
	s := "/" + p.Room + "/" + p.Participant
	if p.View != "" {
		s += "/" + p.View
	}
	return s
}

// key identifies the participant (not the view) in maps.
func (p Path) key() string { return p.Room + "/" + p.Participant }

func checkSegment(s string) error {
	if s == "" {
		return errEmptySegment
	}
	if len(s) > maxSegmentLen {
		return errLongSegment
	}
	if s == "." || s == ".." {
		return errDotSegment
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == '~' || c == '@':
		default:
			return fmt.Errorf("%w %q", errBadChar, c)
		}
	}
	return nil
}
