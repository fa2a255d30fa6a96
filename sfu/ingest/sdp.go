package ingest

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// maxSDP bounds an offer body: real offers are 2–10 KB; 64 KB leaves room
// for many candidates and still stops a client from streaming garbage at us.
const maxSDP = 64 << 10

// mediaOffer is what an offer's m-section asks for.
type mediaOffer struct {
	Kind      webrtc.RTPCodecType
	Mid       string
	Codecs    []string // upper-case encoding names from rtpmap: "H264", "OPUS"
	Send      bool     // the offerer sends (sendonly/sendrecv)
	Recv      bool     // the offerer receives (recvonly/sendrecv)
	Simulcast bool
}

// offerSummary is the checked content of a WHIP or WHEP offer.
type offerSummary struct {
	Media []mediaOffer
}

// count returns how many audio/video sections send (send=true) or receive.
func (o offerSummary) count(kind webrtc.RTPCodecType, send bool) int {
	n := 0
	for _, m := range o.Media {
		if m.Kind == kind && ((send && m.Send) || (!send && m.Recv)) {
			n++
		}
	}
	return n
}

// parseOffer checks an SDP offer before pion sees it, so that a bad body
// gets a precise 400 instead of a generic negotiation failure: it must
// parse, carry ICE credentials and a DTLS fingerprint, and have at least one
// audio or video section. Data channels and unknown media are ignored.
func parseOffer(body []byte) (offerSummary, error) {
	if len(body) == 0 {
		return offerSummary{}, fmt.Errorf("%w: empty SDP offer", ErrBadRequest)
	}
	if len(body) > maxSDP {
		return offerSummary{}, fmt.Errorf("%w: SDP offer larger than %d bytes", ErrBadRequest, maxSDP)
	}
	if !bytes.HasPrefix(body, []byte("v=0")) {
		return offerSummary{}, fmt.Errorf("%w: not an SDP offer (must start with v=0)", ErrBadRequest)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return offerSummary{}, fmt.Errorf("%w: SDP: %w", ErrBadRequest, err)
	}
	sessUfrag, _ := sd.Attribute("ice-ufrag")
	sessFP, _ := sd.Attribute("fingerprint")
	var out offerSummary
	for _, md := range sd.MediaDescriptions {
		var kind webrtc.RTPCodecType
		switch md.MediaName.Media {
		case "audio":
			kind = webrtc.RTPCodecTypeAudio
		case "video":
			kind = webrtc.RTPCodecTypeVideo
		default:
			continue
		}
		if md.MediaName.Port.Value == 0 {
			continue // rejected/stopped section
		}
		m := mediaOffer{Kind: kind, Send: true, Recv: true}
		ufrag, fp := sessUfrag, sessFP
		for _, a := range md.Attributes {
			switch a.Key {
			case "mid":
				m.Mid = a.Value
			case "sendonly":
				m.Send, m.Recv = true, false
			case "recvonly":
				m.Send, m.Recv = false, true
			case "inactive":
				m.Send, m.Recv = false, false
			case "simulcast":
				m.Simulcast = true
			case "ice-ufrag":
				ufrag = a.Value
			case "fingerprint":
				fp = a.Value
			case "rtpmap":
				if _, rest, ok := strings.Cut(a.Value, " "); ok {
					name, _, _ := strings.Cut(rest, "/")
					m.Codecs = append(m.Codecs, strings.ToUpper(name))
				}
			}
		}
		if ufrag == "" || fp == "" {
			return offerSummary{}, fmt.Errorf("%w: %s section %q lacks ice-ufrag or fingerprint", ErrBadRequest, md.MediaName.Media, m.Mid)
		}
		if m.Mid == "" {
			return offerSummary{}, fmt.Errorf("%w: %s section without a=mid (BUNDLE is required)", ErrBadRequest, md.MediaName.Media)
		}
		out.Media = append(out.Media, m)
	}
	if len(out.Media) == 0 {
		return offerSummary{}, fmt.Errorf("%w: offer has no audio or video section", ErrBadRequest)
	}
	return out, nil
}

// trickleFrag is a parsed application/trickle-ice-sdpfrag body (RFC 8840).
type trickleFrag struct {
	Ufrag, Pwd string
	Candidates []webrtc.ICECandidateInit
	End        bool
}

// maxTrickle bounds a PATCH body.
const maxTrickle = 16 << 10

// parseTrickle reads candidates with the mid (or m-line index) they belong
// to. Lines it does not need are ignored, as RFC 8840 asks.
func parseTrickle(body []byte) (trickleFrag, error) {
	if len(body) > maxTrickle {
		return trickleFrag{}, fmt.Errorf("%w: trickle body larger than %d bytes", ErrBadRequest, maxTrickle)
	}
	var f trickleFrag
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
				return trickleFrag{}, fmt.Errorf("%w: malformed candidate %q", ErrBadRequest, truncate(c, 80))
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
			return trickleFrag{}, fmt.Errorf("%w: not an SDP fragment line: %q", ErrBadRequest, truncate(line, 80))
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
