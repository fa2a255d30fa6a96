package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/classcast/classcast/sfu/ingest/sdpoffer"
	"github.com/classcast/classcast/sfu/track"
)

// WHEP serves WHEP playback under /whep/: POST /whep/<room>/<participant>
// with a token allowing subscribe in room answers with a connection sending
// the participant's tracks.
type WHEP struct {
	cfg      WebRTCConfig
	log      *slog.Logger
	lim      *limiter
	sessions *sessions[*whepSession]
	started  prometheus.Counter
}

// NewWHEP returns the WHEP handler.
func NewWHEP(cfg WebRTCConfig) (*WHEP, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &WHEP{cfg: cfg, log: cfg.Logger.With("component", "whep"), lim: newLimiter(10 * time.Second),
		sessions: newSessions[*whepSession](),
		started: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "classcast_whep_sessions_total", Help: "WHEP sessions accepted.",
		}),
	}, nil
}

// Collectors returns the handler's prometheus collectors.
func (h *WHEP) Collectors() []prometheus.Collector {
	return []prometheus.Collector{h.started, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "classcast_whep_sessions", Help: "WHEP sessions open.",
	}, func() float64 { return float64(h.sessions.count()) })}
}

// Close ends every session and waits for their goroutines.
func (h *WHEP) Close() { h.sessions.closeAll("server shutting down") }

// ServeHTTP implements http.Handler for /whep/…
func (h *WHEP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cors(w)
	parts := splitPath(r.URL.Path, "/whep")
	switch {
	case r.Method == http.MethodOptions:
		w.Header().Set("Accept-Post", "application/sdp")
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 2 && r.Method == http.MethodPost:
		h.post(w, r, parts[0], parts[1])
	case len(parts) == 3 && (r.Method == http.MethodPatch || r.Method == http.MethodDelete):
		h.resource(w, r, parts[0], parts[1], parts[2])
	case len(parts) == 2 || len(parts) == 3:
		w.Header().Set("Allow", "POST, PATCH, DELETE, OPTIONS")
		http.Error(w, "method not allowed: POST /whep/<room>/<participant>, PATCH or DELETE its session", http.StatusMethodNotAllowed)
	default:
		writeError(w, h.lim, h.log, "whep", fmt.Errorf("%w: path %q is not /whep/<room>/<participant>", ErrNotFound, r.URL.Path))
	}
}

func (h *WHEP) post(w http.ResponseWriter, r *http.Request, roomName, identity string) {
	if !validName(roomName) || !validName(identity) {
		writeError(w, h.lim, h.log, "whep", fmt.Errorf("%w: room and participant must be [A-Za-z0-9._~@-]", ErrBadRequest))
		return
	}
	g, err := h.cfg.Auth.Subscriber(bearer(r), roomName)
	if err != nil {
		writeError(w, h.lim, h.log, "whep", err)
		return
	}
	body, err := readBody(r, "application/sdp", sdpoffer.MaxSize)
	if err != nil {
		bodyError(w, h.lim, h.log, "whep", err)
		return
	}
	offer, err := parseOffer(body)
	if err == nil && offer.Count(webrtc.RTPCodecTypeAudio, false)+offer.Count(webrtc.RTPCodecTypeVideo, false) == 0 {
		err = fmt.Errorf("%w: WHEP offer receives no audio or video (recvonly sections expected)", ErrBadRequest)
	}
	if err != nil {
		writeError(w, h.lim, h.log, "whep", err)
		return
	}
	tracks, err := h.cfg.Host.Lookup(roomName, identity)
	if err != nil {
		writeError(w, h.lim, h.log, "whep", fmt.Errorf("%w: %w", ErrNotFound, err))
		return
	}
	s, ans, err := h.start(r.Context(), roomName, identity, g.Identity, string(body), offer, tracks)
	if err != nil {
		writeError(w, h.lim, h.log, "whep", err)
		return
	}
	h.started.Inc()
	writeAnswer(w, "/whep/"+roomName+"/"+identity+"/"+s.id, ans)
}

func (h *WHEP) start(ctx context.Context, roomName, identity, viewer, offerSDP string, offer sdpoffer.Summary,
	all []track.Published) (*whepSession, string, error) {
	chosen, skipped := chooseTracks(all, offer)
	if len(chosen) == 0 {
		return nil, "", fmt.Errorf("%w: participant %q publishes nothing your offer can receive (%s)",
			ErrUnsupported, identity, strings.Join(skipped, "; "))
	}
	pc, _, err := h.cfg.Engine.NewSubscriberPC(webrtc.Configuration{}) // no pacing: one viewer, no estimator needed
	if err != nil {
		return nil, "", fmt.Errorf("whep: peer connection: %w", err)
	}
	s := newWHEPSession(h, roomName, identity, pc)
	s.log = s.log.With("viewer", viewer)
	ans, err := answer(ctx, pc, offerSDP, h.cfg.NegotiateTimeout, func() error { return s.addTracks(chosen) })
	if err == nil && sdpoffer.AcceptedSections(ans, false) == 0 {
		err = fmt.Errorf("%w: no section of the answer sends media", ErrUnsupported)
	}
	if err == nil {
		err = s.attach()
	}
	if err == nil {
		err = h.sessions.add(s.id, s)
	}
	if err != nil {
		s.detach()
		_ = pc.Close()
		return nil, "", err
	}
	s.begin(skipped)
	return s, ans, nil
}

// chooseTracks picks, per kind, as many tracks as the offer has receiving
// sections, camera first, and only codecs the offer lists.
func chooseTracks(all []track.Published, offer sdpoffer.Summary) (chosen []track.Published, skipped []string) {
	all = slices.Clone(all)
	slices.SortStableFunc(all, func(a, b track.Published) int {
		return sourceRank(a.Info().Source) - sourceRank(b.Info().Source)
	})
	room := map[webrtc.RTPCodecType]int{
		webrtc.RTPCodecTypeAudio: offer.Count(webrtc.RTPCodecTypeAudio, false),
		webrtc.RTPCodecTypeVideo: offer.Count(webrtc.RTPCodecTypeVideo, false),
	}
	for _, t := range all {
		info := t.Info()
		codec := strings.ToUpper(strings.TrimPrefix(strings.TrimPrefix(info.Codec.MimeType, "video/"), "audio/"))
		switch {
		case room[info.Kind] == 0:
			skipped = append(skipped, fmt.Sprintf("%s: no free %s section", info.Name, info.Kind))
		case !offerHasCodec(offer, info.Kind, codec):
			skipped = append(skipped, fmt.Sprintf("%s: codec %s not in the offer", info.Name, codec))
		default:
			room[info.Kind]--
			chosen = append(chosen, t)
		}
	}
	return chosen, skipped
}

func offerHasCodec(o sdpoffer.Summary, kind webrtc.RTPCodecType, codec string) bool {
	for _, m := range o.Media {
		if m.Kind == kind && m.Recv && slices.Contains(m.Codecs, codec) {
			return true
		}
	}
	return false
}

func sourceRank(s livekit.TrackSource) int {
	switch s {
	case livekit.TrackSource_CAMERA:
		return 0
	case livekit.TrackSource_MICROPHONE:
		return 1
	case livekit.TrackSource_SCREEN_SHARE:
		return 2
	case livekit.TrackSource_SCREEN_SHARE_AUDIO:
		return 3
	}
	return 4
}

func (h *WHEP) resource(w http.ResponseWriter, r *http.Request, roomName, identity, id string) {
	s, ok := h.sessions.get(id)
	if !ok || s.room != roomName || s.identity != identity {
		writeError(w, h.lim, h.log, "whep", fmt.Errorf("%w: WHEP session %q", ErrNotFound, id))
		return
	}
	if _, err := h.cfg.Auth.Subscriber(bearer(r), roomName); err != nil {
		writeError(w, h.lim, h.log, "whep", err)
		return
	}
	if r.Method == http.MethodDelete {
		s.stop("deleted by client")
		w.WriteHeader(http.StatusOK)
		return
	}
	if err := trickle(r, s.pc); err != nil {
		patchError(w, h.lim, h.log, "whep", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
