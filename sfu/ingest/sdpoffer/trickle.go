package sdpoffer

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// Trickle is a parsed application/trickle-ice-sdpfrag body (RFC 8840).
type Trickle struct {
	Ufrag, Pwd string
	Candidates []webrtc.ICECandidateInit
	End        bool
}

// MaxTrickle bounds a PATCH body.
const MaxTrickle = 16 << 10

// ParseTrickle reads candidates with the mid (or m-line index) they belong
// to. Lines it does not need are ignored, as RFC 8840 asks.
func ParseTrickle(body []byte) (Trickle, error) {
	if len(body) > MaxTrickle {
		return Trickle{}, fmt.Errorf("%w: trickle body larger than %d bytes", ErrInvalid, MaxTrickle)
	}
	var f Trickle
	mid := ""
	index := -1
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case line == "":
		case strings.HasPrefix(line, "m="):
			index++
			mid = ""
		case strings.HasPrefix(line, "a=mid:"):
			mid = strings.TrimPrefix(line, "a=mid:")
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			f.Ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:"):
			f.Pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case line == "a=end-of-candidates":
			f.End = true
		case strings.HasPrefix(line, "a=candidate:"):
			c := strings.TrimPrefix(line, "a=")
			if len(strings.Fields(c)) < 8 {
				return Trickle{}, fmt.Errorf("%w: malformed candidate %q", ErrInvalid, truncate(c, 80))
			}
			init := webrtc.ICECandidateInit{Candidate: c}
			if mid != "" {
				m := mid
				init.SDPMid = &m
			} else {
				i := uint16(max(index, 0))
				init.SDPMLineIndex = &i
			}
			f.Candidates = append(f.Candidates, init)
		case len(line) < 2 || line[1] != '=':
			return Trickle{}, fmt.Errorf("%w: not an SDP fragment line: %q", ErrInvalid, truncate(line, 80))
		}
	}
	return f, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
