// Package sdpoffer checks the SDP that WHIP and WHEP clients send before
// pion sees it, and runs the negotiation with a bound on its time: a bad
// offer gets a precise reason, and no peer connection outlives a failure.
//
// It is a package of its own so that its fuzz targets link little: fuzzing
// in a test binary that also links the whole node (SQLite, NATS) spends
// most of each execution snapshotting coverage counters.
package sdpoffer

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// MaxSize bounds an offer body: real offers are 2–10 KB; 64 KB leaves room
// for many candidates and still stops a client from streaming garbage at us.
const MaxSize = 64 << 10

// Section is what an offer's audio or video m-section asks for.
type Section struct {
	Kind   webrtc.RTPCodecType
	Mid    string
	Codecs []string // upper-case encoding names from rtpmap: "H264", "OPUS"
	Send   bool     // the offerer sends (sendonly/sendrecv)
	Recv   bool     // the offerer receives (recvonly/sendrecv)
	// Layers are the simulcast encodings the offerer sends, lowest quality
	// first; nil for a single stream.
	Layers []Layer
}

// Summary is the checked content of a WHIP or WHEP offer.
type Summary struct {
	Media []Section
}

// Count returns how many audio/video sections send (send=true) or receive.
func (o Summary) Count(kind webrtc.RTPCodecType, send bool) int {
	n := 0
	for _, m := range o.Media {
		if m.Kind == kind && ((send && m.Send) || (!send && m.Recv)) {
			n++
		}
	}
	return n
}

// Codecs lists the encoding names of every section.
func (o Summary) Codecs() []string {
	var out []string
	for _, m := range o.Media {
		out = append(out, m.Codecs...)
	}
	return out
}

// Parse checks an SDP offer before pion sees it, so that a bad body gets a
// precise reason instead of a generic negotiation failure: it must parse,
// carry ICE credentials and a DTLS fingerprint, and have at least one audio
// or video section, each with a mid and well-formed simulcast attributes.
// Data channels and unknown media are ignored. Errors wrap ErrInvalid.
func Parse(body []byte) (Summary, error) {
	if len(body) == 0 {
		return Summary{}, fmt.Errorf("%w: empty SDP offer", ErrInvalid)
	}
	if len(body) > MaxSize {
		return Summary{}, fmt.Errorf("%w: SDP offer larger than %d bytes", ErrInvalid, MaxSize)
	}
	if !bytes.HasPrefix(body, []byte("v=0")) {
		return Summary{}, fmt.Errorf("%w: not an SDP offer (must start with v=0)", ErrInvalid)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return Summary{}, fmt.Errorf("%w: SDP: %w", ErrInvalid, err)
	}
	sessUfrag, _ := sd.Attribute("ice-ufrag")
	sessFP, _ := sd.Attribute("fingerprint")
	var out Summary
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
		m := Section{Kind: kind, Send: true, Recv: true}
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
			return Summary{}, fmt.Errorf("%w: %s section %q lacks ice-ufrag or fingerprint", ErrInvalid, md.MediaName.Media, m.Mid)
		}
		if m.Mid == "" {
			return Summary{}, fmt.Errorf("%w: %s section without a=mid (BUNDLE is required)", ErrInvalid, md.MediaName.Media)
		}
		if slices.ContainsFunc(out.Media, func(o Section) bool { return o.Mid == m.Mid }) {
			return Summary{}, fmt.Errorf("%w: two sections with a=mid:%s", ErrInvalid, truncate(m.Mid, 32))
		}
		layers, err := parseSimulcast(md)
		if err != nil {
			return Summary{}, fmt.Errorf("%w (section %q)", err, m.Mid)
		}
		if len(layers) > 1 && kind != webrtc.RTPCodecTypeVideo {
			return Summary{}, fmt.Errorf("%w: simulcast in %s section %q: only video is carried in layers", ErrInvalid, md.MediaName.Media, m.Mid)
		}
		if len(layers) > 1 {
			m.Layers = layers
		}
		out.Media = append(out.Media, m)
	}
	if len(out.Media) == 0 {
		return Summary{}, fmt.Errorf("%w: offer has no audio or video section", ErrInvalid)
	}
	return out, nil
}
