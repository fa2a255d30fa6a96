package sdpoffer

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/sdp/v3"
)

// maxSimulcastLayers is how many encodings of one track the SFU carries
// (forward.MaxLayers; LiveKit's q/h/f).
const maxSimulcastLayers = 3

// Layer is one simulcast encoding a WHIP offer announces (RFC 8851
// a=rid, RFC 8853 a=simulcast), with the size and bitrate its restrictions
// promise when it states them.
type Layer struct {
	RID           string
	Width, Height uint32 // max-width / max-height, 0 when not stated
	Bitrate       uint32 // max-br in bit/s, 0 when not stated
}

// ridRankTables name simulcast encodings by quality, lowest first, in the
// conventions encoders use: LiveKit and Chromium samples (quarter, half,
// full), and spelled-out or abbreviated low/medium/high.
var ridRankTables = []map[string]int{
	{"q": 0, "h": 1, "f": 2},
	{"l": 0, "m": 1, "h": 2},
	{"low": 0, "mid": 1, "medium": 1, "high": 2, "hi": 2},
}

// parseSimulcast reads the send encodings of one m-section: the a=rid lines
// with direction "send", in the order a=simulcast:send lists them. It
// returns them ordered from the lowest quality to the highest (the SFU's
// layer order) or nil for a single stream.
func parseSimulcast(md *sdp.MediaDescription) ([]Layer, error) {
	declared := map[string]Layer{}
	var order []string // a=rid order
	var listed []string
	haveList := false
	for _, a := range md.Attributes {
		switch a.Key {
		case "rid":
			l, send, err := parseRID(a.Value)
			if err != nil {
				return nil, err
			}
			if !send {
				continue
			}
			if _, dup := declared[l.RID]; dup {
				return nil, fmt.Errorf("%w: rid %q declared twice", ErrInvalid, l.RID)
			}
			declared[l.RID] = l
			order = append(order, l.RID)
		case "simulcast":
			if haveList {
				return nil, fmt.Errorf("%w: more than one a=simulcast line in a section", ErrInvalid)
			}
			haveList = true
			var err error
			if listed, err = simulcastSendList(a.Value); err != nil {
				return nil, err
			}
		}
	}
	if !haveList {
		listed = order
	}
	if len(listed) == 0 {
		return nil, nil
	}
	seen := map[string]bool{}
	layers := make([]Layer, 0, len(listed))
	for _, rid := range listed {
		l, ok := declared[rid]
		if !ok {
			return nil, fmt.Errorf("%w: a=simulcast lists rid %q that no a=rid line declares for sending", ErrInvalid, rid)
		}
		if seen[rid] {
			return nil, fmt.Errorf("%w: a=simulcast lists rid %q twice", ErrInvalid, rid)
		}
		seen[rid] = true
		layers = append(layers, l)
	}
	if len(layers) > maxSimulcastLayers {
		return nil, fmt.Errorf("%w: %d simulcast layers offered; at most %d are carried (configure fewer layers in the encoder)",
			ErrInvalid, len(layers), maxSimulcastLayers)
	}
	return orderLayers(layers), nil
}

// parseRID reads "a=rid:<id> <send|recv> [restrictions]".
func parseRID(v string) (Layer, bool, error) {
	f := strings.Fields(v)
	if len(f) < 2 || !validRID(f[0]) || (f[1] != "send" && f[1] != "recv") {
		return Layer{}, false, fmt.Errorf("%w: malformed a=rid:%s", ErrInvalid, truncate(v, 60))
	}
	l := Layer{RID: f[0]}
	if len(f) > 2 {
		for _, r := range strings.Split(f[2], ";") {
			k, val, _ := strings.Cut(r, "=")
			n, err := strconv.ParseUint(val, 10, 32)
			switch k {
			case "max-width":
				if err == nil {
					l.Width = uint32(n)
				}
			case "max-height":
				if err == nil {
					l.Height = uint32(n)
				}
			case "max-br":
				if err == nil {
					l.Bitrate = uint32(n)
				}
			}
		}
	}
	return l, f[1] == "send", nil
}

// validRID is RFC 8851's rid-id (alphanumerics, "-" and "_"), bounded to a
// sane length.
func validRID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// simulcastSendList returns the streams of "send a;b,c;~d [recv …]": one
// rid per ';'-separated stream (the first of ','-alternatives, as browsers
// do), without the '~' that marks a stream paused at the start.
func simulcastSendList(v string) ([]string, error) {
	f := strings.Fields(v)
	for i := 0; i+1 < len(f); i += 2 {
		if f[i] != "send" {
			continue
		}
		var out []string
		for _, stream := range strings.Split(f[i+1], ";") {
			first, _, _ := strings.Cut(stream, ",")
			first = strings.TrimPrefix(first, "~")
			if !validRID(first) {
				return nil, fmt.Errorf("%w: malformed a=simulcast:%s", ErrInvalid, truncate(v, 60))
			}
			out = append(out, first)
		}
		return out, nil
	}
	if len(f) == 0 || len(f)%2 != 0 {
		return nil, fmt.Errorf("%w: malformed a=simulcast:%s", ErrInvalid, truncate(v, 60))
	}
	return nil, nil // recv only: nothing we receive
}

// orderLayers sorts layers from the lowest quality to the highest. The SDP
// order alone does not say which is which (Chromium lists q;h;f, OBS lists
// 0;1;2 with 0 the full-size encoding), so, in this order of trust:
// restrictions on every rid (max-width/max-height, else max-br); names from
// a known convention; numeric names, the largest number being the smallest
// encoding (OBS); otherwise the a=simulcast order read as RFC 8853's
// preference order, most preferred (highest) first.
func orderLayers(layers []Layer) []Layer {
	if len(layers) < 2 {
		return layers
	}
	all := func(ok func(Layer) bool) bool {
		return !slices.ContainsFunc(layers, func(l Layer) bool { return !ok(l) })
	}
	switch {
	case all(func(l Layer) bool { return l.Width > 0 || l.Height > 0 }):
		slices.SortStableFunc(layers, func(a, b Layer) int {
			return cmp.Compare(uint64(max(a.Width, 1))*uint64(max(a.Height, 1)), uint64(max(b.Width, 1))*uint64(max(b.Height, 1)))
		})
		return layers
	case all(func(l Layer) bool { return l.Bitrate > 0 }):
		slices.SortStableFunc(layers, func(a, b Layer) int { return cmp.Compare(a.Bitrate, b.Bitrate) })
		return layers
	}
	for _, table := range ridRankTables {
		if all(func(l Layer) bool { _, ok := table[strings.ToLower(l.RID)]; return ok }) {
			slices.SortStableFunc(layers, func(a, b Layer) int {
				return cmp.Compare(table[strings.ToLower(a.RID)], table[strings.ToLower(b.RID)])
			})
			return layers
		}
	}
	if all(func(l Layer) bool { _, err := strconv.ParseUint(l.RID, 10, 16); return err == nil }) {
		slices.SortStableFunc(layers, func(a, b Layer) int {
			x, _ := strconv.ParseUint(a.RID, 10, 16)
			y, _ := strconv.ParseUint(b.RID, 10, 16)
			return cmp.Compare(y, x)
		})
		return layers
	}
	slices.Reverse(layers)
	return layers
}

// VideoLayers describes simulcast layers for TrackInfo, qualities named as
// LiveKit clients publish them (two layers are LOW and MEDIUM).
func VideoLayers(layers []Layer) []*livekit.VideoLayer {
	if len(layers) < 2 {
		return nil
	}
	out := make([]*livekit.VideoLayer, len(layers))
	for i, l := range layers {
		out[i] = &livekit.VideoLayer{
			Quality: livekit.VideoQuality(i), Width: l.Width, Height: l.Height, Bitrate: l.Bitrate,
		}
	}
	return out
}
