package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/classcast/classcast/sfu/rtsp"
)

// Cameras is the admin HTTP API over the pull sources:
//
//	GET    /api/cameras          list (JSON array of rtsp.SourceState)
//	POST   /api/cameras          add (JSON rtsp.SourceConfig) → 201 state
//	GET    /api/cameras/<id>     one camera's state
//	DELETE /api/cameras/<id>     remove → 204
//
// The token (Authorization: Bearer) needs ingressAdmin, or roomAdmin: a
// roomAdmin token naming a room sees and manages that room's cameras only.
type Cameras struct {
	auth *Auth
	m    *rtsp.Manager
	log  *slog.Logger
	lim  *limiter
}

// NewCameras returns the handler; mount it at /api/cameras and /api/cameras/.
func NewCameras(auth *Auth, m *rtsp.Manager, log *slog.Logger) *Cameras {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cameras{auth: auth, m: m, log: log.With("component", "cameras-api"), lim: newLimiter(10 * time.Second)}
}

// scope returns the room a token may manage ("" = every room).
func (c *Cameras) scope(r *http.Request) (string, error) {
	g, err := c.auth.Admin(bearer(r), "")
	if err == nil {
		if g.Video.IngressAdmin {
			return "", nil
		}
		return g.Video.Room, nil
	}
	if !errors.Is(err, ErrForbidden) {
		return "", err
	}
	// a roomAdmin token scoped to one room
	g, verr := c.auth.verify(bearer(r))
	if verr == nil && g.Video != nil && g.Video.RoomAdmin && g.Video.Room != "" {
		return g.Video.Room, nil
	}
	return "", err
}

func (c *Cameras) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	scope, err := c.scope(r)
	if err != nil {
		writeError(w, c.lim, c.log, "cameras", err)
		return
	}
	id := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api/cameras"), "/")
	switch {
	case id == "" && r.Method == http.MethodGet:
		out := []rtsp.SourceState{}
		for _, st := range c.m.List() {
			if scope == "" || st.Room == scope {
				out = append(out, st)
			}
		}
		writeJSON(w, http.StatusOK, out)
	case id == "" && r.Method == http.MethodPost:
		c.add(w, r, scope)
	case id != "" && (r.Method == http.MethodGet || r.Method == http.MethodDelete):
		st, err := c.m.Get(id)
		if err != nil || (scope != "" && st.Room != scope) {
			writeError(w, c.lim, c.log, "cameras", fmt.Errorf("%w: camera %q", ErrNotFound, id))
			return
		}
		if r.Method == http.MethodGet {
			writeJSON(w, http.StatusOK, st)
			return
		}
		if err := c.m.Remove(id); err != nil {
			writeError(w, c.lim, c.log, "cameras", fmt.Errorf("%w: %w", ErrNotFound, err))
			return
		}
		c.log.Info("camera removed", "id", id)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		http.Error(w, "method not allowed: GET/POST /api/cameras, GET/DELETE /api/cameras/<id>", http.StatusMethodNotAllowed)
	}
}

func (c *Cameras) add(w http.ResponseWriter, r *http.Request, scope string) {
	var cfg rtsp.SourceConfig
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		writeError(w, c.lim, c.log, "cameras", fmt.Errorf("%w: JSON body: %w", ErrBadRequest, err))
		return
	}
	if scope != "" && cfg.Room != scope {
		writeError(w, c.lim, c.log, "cameras", fmt.Errorf("%w: token manages room %q only", ErrForbidden, scope))
		return
	}
	st, err := c.m.Add(cfg)
	switch {
	case errors.Is(err, rtsp.ErrExists):
		err = fmt.Errorf("%w: %w", ErrConflict, err)
	case errors.Is(err, rtsp.ErrBadConfig):
		err = fmt.Errorf("%w: %w", ErrBadRequest, err)
	case errors.Is(err, rtsp.ErrClosed):
		err = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	if err != nil {
		writeError(w, c.lim, c.log, "cameras", err)
		return
	}
	c.log.Info("camera added", "id", st.ID, "room", st.Room, "url", st.URL)
	writeJSON(w, http.StatusCreated, st)
}
