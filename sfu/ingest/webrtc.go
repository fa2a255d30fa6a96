package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/sfu/ingest/sdpoffer"
	"github.com/classcast/classcast/sfu/rtc"
)

// WebRTCConfig configures the WHIP and WHEP handlers.
type WebRTCConfig struct {
	// Engine creates the peer connections on the node's media ports. Required.
	Engine *rtc.Engine
	// Host publishes WHIP participants and finds tracks for WHEP. Required.
	Host *Host
	// Auth checks bearer tokens. Required.
	Auth *Auth
	// Ingresses resolves WHIP stream keys of ingresses created through the
	// Ingress service; nil accepts LiveKit tokens only.
	Ingresses WHIPIngresses
	// Logger receives one line per session start/end and per refusal cause.
	Logger *slog.Logger
	// MediaTimeout closes a session whose media did not start (WHIP: no
	// track; both: ICE not connected) this long after the answer. Default 15 s.
	MediaTimeout time.Duration
	// NegotiateTimeout bounds the handling of an offer: applying it,
	// answering and ICE gathering. Default 5 s.
	NegotiateTimeout time.Duration
}

func (c *WebRTCConfig) setDefaults() error {
	if c.Engine == nil || c.Host == nil || c.Auth == nil {
		return fmt.Errorf("%w: Engine, Host and Auth are required", ErrBadRequest)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MediaTimeout <= 0 {
		c.MediaTimeout = 15 * time.Second
	}
	if c.NegotiateTimeout <= 0 {
		c.NegotiateTimeout = 5 * time.Second
	}
	return nil
}

// WHIPTarget is where a WHIP ingress's stream key publishes.
type WHIPTarget struct {
	IngressID string
	Room      string
	Identity  string
	Name      string
}

// WHIPIngresses resolves stream keys and hears about session state, so the
// Ingress service can report it.
type WHIPIngresses interface {
	WHIPIngress(streamKey string) (WHIPTarget, bool)
	WHIPState(ingressID string, active bool, err error)
}

// sessions is the registry of live WHIP or WHEP sessions, and the owner of
// their goroutines: Close waits for every one of them.
type sessions[S interface{ stop(reason string) }] struct {
	mu     sync.Mutex
	byID   map[string]S
	closed bool
	wg     sync.WaitGroup
}

func newSessions[S interface{ stop(reason string) }]() *sessions[S] {
	return &sessions[S]{byID: map[string]S{}}
}

func (ss *sessions[S]) add(id string, s S) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return ErrClosed
	}
	ss.byID[id] = s
	return nil
}

func (ss *sessions[S]) get(id string) (S, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byID[id]
	return s, ok
}

func (ss *sessions[S]) remove(id string) {
	ss.mu.Lock()
	delete(ss.byID, id)
	ss.mu.Unlock()
}

func (ss *sessions[S]) count() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.byID)
}

// closeAll stops every session and waits for their goroutines.
func (ss *sessions[S]) closeAll(reason string) {
	ss.mu.Lock()
	ss.closed = true
	all := make([]S, 0, len(ss.byID))
	for _, s := range ss.byID {
		all = append(all, s)
	}
	ss.mu.Unlock()
	for _, s := range all {
		s.stop(reason)
	}
	ss.wg.Wait()
}

// goTracked runs f as a goroutine owned by the registry.
func (ss *sessions[S]) goTracked(f func()) {
	ss.wg.Add(1)
	go func() {
		defer ss.wg.Done()
		f()
	}()
}

// parseOffer is sdpoffer.Parse with the package's 400 error.
func parseOffer(body []byte) (sdpoffer.Summary, error) {
	o, err := sdpoffer.Parse(body)
	if err != nil {
		return o, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return o, nil
}

// answer negotiates within timeout (sdpoffer.Answer: pc is closed on every
// error). A refused or stuck offer is the client's: 400 with the reason.
func answer(ctx context.Context, pc *webrtc.PeerConnection, offer string, timeout time.Duration, addTracks func() error) (string, error) {
	ans, err := sdpoffer.Answer(ctx, pc, offer, sdpoffer.Options{Timeout: timeout, AddTracks: addTracks})
	switch {
	case err == nil:
		return ans, nil
	case errors.Is(err, sdpoffer.ErrInvalid), errors.Is(err, sdpoffer.ErrTimeout), errors.Is(err, sdpoffer.ErrCancelled):
		return "", fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return "", err
}

// writeAnswer sends 201 Created with the answer and the session resource.
func writeAnswer(w http.ResponseWriter, location, sdpAnswer string) {
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", location)
	w.Header().Set("ETag", `"`+location[strings.LastIndexByte(location, '/')+1:]+`"`)
	w.Header().Set("Accept-Patch", "application/trickle-ice-sdpfrag")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(sdpAnswer))
}

// trickle applies a PATCH body to pc. ICE restarts are not supported: the
// client should POST a new offer instead.
func trickle(r *http.Request, pc *webrtc.PeerConnection) error {
	body, err := readBody(r, "application/trickle-ice-sdpfrag", sdpoffer.MaxTrickle)
	if err != nil {
		return err
	}
	frag, err := sdpoffer.ParseTrickle(body)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	if frag.Ufrag != "" {
		if rd := pc.RemoteDescription(); rd != nil && !strings.Contains(rd.SDP, "a=ice-ufrag:"+frag.Ufrag+"\r\n") &&
			!strings.Contains(rd.SDP, "a=ice-ufrag:"+frag.Ufrag+"\n") {
			return fmt.Errorf("%w: ICE restart is not supported; POST a new offer", errRestart)
		}
	}
	for _, c := range frag.Candidates {
		if err := pc.AddICECandidate(c); err != nil {
			return fmt.Errorf("%w: candidate %q: %w", ErrBadRequest, truncate(c.Candidate, 80), err)
		}
	}
	return nil
}

var errRestart = fmt.Errorf("%w: ICE restart", ErrUnsupported)

// patchError answers a failed PATCH: 422 for an ICE restart (RFC 9725
// allows refusing one), else the usual mapping.
func patchError(w http.ResponseWriter, lim *limiter, log *slog.Logger, op string, err error) {
	if isErr(err, errRestart) {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	bodyError(w, lim, log, op, err)
}

// splitPath splits "/whip/a/b" after prefix into its segments.
func splitPath(p, prefix string) []string {
	rest := strings.Trim(strings.TrimPrefix(p, prefix), "/")
	if rest == "" {
		return nil
	}
	return strings.Split(rest, "/")
}

// validName accepts the room and identity names RTSP paths accept, so
// every ingest path addresses the same participants.
func validName(s string) bool {
	if s == "" || len(s) > 128 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == '~' || c == '@':
		default:
			return false
		}
	}
	return true
}

func cors(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, PATCH, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Accept-Patch, Link")
}
