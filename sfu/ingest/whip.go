package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/classcast/classcast/sfu/ingest/sdpoffer"
)

// WHIP serves WHIP ingest (RFC 9725) under /whip/: POST /whip/<room>
// publishes the token's identity in room as an INGRESS participant.
type WHIP struct {
	cfg      WebRTCConfig
	log      *slog.Logger
	lim      *limiter
	sessions *sessions[*whipSession]
	started  prometheus.Counter
}

// NewWHIP returns the WHIP handler.
func NewWHIP(cfg WebRTCConfig) (*WHIP, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	h := &WHIP{cfg: cfg, log: cfg.Logger.With("component", "whip"), lim: newLimiter(10 * time.Second),
		sessions: newSessions[*whipSession](),
		started: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "classcast_whip_sessions_total", Help: "WHIP sessions accepted.",
		}),
	}
	return h, nil
}

// Collectors returns the handler's prometheus collectors.
func (h *WHIP) Collectors() []prometheus.Collector {
	return []prometheus.Collector{h.started, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "classcast_whip_sessions", Help: "WHIP sessions open.",
	}, func() float64 { return float64(h.sessions.count()) })}
}

// Close ends every session and waits for their goroutines.
func (h *WHIP) Close() { h.sessions.closeAll("server shutting down") }

// ServeHTTP implements http.Handler for /whip/…
func (h *WHIP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cors(w)
	parts := splitPath(r.URL.Path, "/whip")
	switch {
	case r.Method == http.MethodOptions:
		w.Header().Set("Accept-Post", "application/sdp")
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 1 && r.Method == http.MethodPost:
		h.post(w, r, parts[0])
	case len(parts) == 2 && (r.Method == http.MethodPatch || r.Method == http.MethodDelete):
		h.resource(w, r, parts[0], parts[1])
	case len(parts) == 1 || len(parts) == 2:
		w.Header().Set("Allow", "POST, PATCH, DELETE, OPTIONS")
		http.Error(w, "method not allowed: POST /whip/<room>, PATCH or DELETE /whip/<room>/<session>", http.StatusMethodNotAllowed)
	default:
		writeError(w, h.lim, h.log, "whip", fmt.Errorf("%w: path %q is not /whip/<room>", ErrNotFound, r.URL.Path))
	}
}

// publisher resolves who publishes: a LiveKit token with canPublish in
// roomName, or the stream key of a WHIP ingress for that room.
func (h *WHIP) publisher(tok, roomName string) (WHIPTarget, error) {
	if h.cfg.Ingresses != nil && tok != "" {
		if t, ok := h.cfg.Ingresses.WHIPIngress(tok); ok {
			if t.Room != roomName {
				return WHIPTarget{}, fmt.Errorf("%w: stream key belongs to room %q", ErrForbidden, t.Room)
			}
			return t, nil
		}
	}
	g, err := h.cfg.Auth.Publisher(tok, roomName)
	if err != nil {
		return WHIPTarget{}, err
	}
	if !validName(g.Identity) {
		return WHIPTarget{}, fmt.Errorf("%w: token identity %q must be non-empty [A-Za-z0-9._~@-]", ErrForbidden, g.Identity)
	}
	name := g.Name
	if name == "" {
		name = g.Identity
	}
	return WHIPTarget{Room: roomName, Identity: g.Identity, Name: name}, nil
}

func (h *WHIP) post(w http.ResponseWriter, r *http.Request, roomName string) {
	if !validName(roomName) {
		writeError(w, h.lim, h.log, "whip", fmt.Errorf("%w: room %q must be [A-Za-z0-9._~@-]", ErrBadRequest, roomName))
		return
	}
	target, err := h.publisher(bearer(r), roomName)
	if err != nil {
		writeError(w, h.lim, h.log, "whip", err)
		return
	}
	body, err := readBody(r, "application/sdp", sdpoffer.MaxSize)
	if err != nil {
		bodyError(w, h.lim, h.log, "whip", err)
		return
	}
	offer, err := parseOffer(body)
	if err == nil && offer.Count(webrtc.RTPCodecTypeAudio, true)+offer.Count(webrtc.RTPCodecTypeVideo, true) == 0 {
		err = fmt.Errorf("%w: WHIP offer sends no audio or video (sendonly sections expected)", ErrBadRequest)
	}
	if err != nil {
		writeError(w, h.lim, h.log, "whip", err)
		return
	}
	s, ans, err := h.start(r.Context(), target, string(body), offer)
	if err != nil {
		writeError(w, h.lim, h.log, "whip", err)
		return
	}
	h.started.Inc()
	writeAnswer(w, "/whip/"+roomName+"/"+s.id, ans)
}

func (h *WHIP) start(ctx context.Context, t WHIPTarget, offerSDP string, offer sdpoffer.Summary) (*whipSession, string, error) {
	pc, err := h.cfg.Engine.NewPublisherPC(webrtc.Configuration{})
	if err != nil {
		return nil, "", fmt.Errorf("whip: peer connection: %w", err)
	}
	s := newWHIPSession(h, t, pc, offer)
	ans, err := answer(ctx, pc, offerSDP, h.cfg.NegotiateTimeout, nil)
	if err == nil {
		s.expected = sdpoffer.AcceptedSections(ans, true)
		if s.expected == 0 {
			err = fmt.Errorf("%w: no offered codec is supported (offered %v; supported: H264, VP8, VP9, AV1, Opus, PCMU, PCMA)",
				ErrUnsupported, offer.Codecs())
		}
	}
	if err == nil {
		err = h.sessions.add(s.id, s)
	}
	if err != nil {
		_ = pc.Close()
		return nil, "", err
	}
	s.begin()
	return s, ans, nil
}

// resource handles PATCH (trickle) and DELETE of a session. The caller must
// present the credentials that created it.
func (h *WHIP) resource(w http.ResponseWriter, r *http.Request, roomName, id string) {
	s, ok := h.sessions.get(id)
	if !ok || s.target.Room != roomName {
		writeError(w, h.lim, h.log, "whip", fmt.Errorf("%w: WHIP session %q", ErrNotFound, id))
		return
	}
	t, err := h.publisher(bearer(r), roomName)
	if err != nil {
		writeError(w, h.lim, h.log, "whip", err)
		return
	}
	if t.Identity != s.target.Identity {
		writeError(w, h.lim, h.log, "whip", fmt.Errorf("%w: session belongs to another publisher", ErrForbidden))
		return
	}
	if r.Method == http.MethodDelete {
		s.stop("deleted by client")
		w.WriteHeader(http.StatusOK)
		return
	}
	if err := trickle(r, s.pc); err != nil {
		patchError(w, h.lim, h.log, "whip", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
