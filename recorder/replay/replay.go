// Package replay serves the asset library over HTTP: list and search
// assets, get one (metadata, chapters, timeline), play it as HLS (the
// recorded fMP4 fragments are the HLS segments, addressed by byte range,
// so nothing is remuxed to play) and download its files. VP8 lessons, which
// Chromium cannot play from MP4, are also served as one WebM file remuxed
// at read time (webm.go).
//
// Routes (mount the handler at "/api/assets", "/api/assets/" and "/media/"):
//
//	GET /api/assets?course=&teacher=&tag=&from=&to=&q=&limit=&offset=
//	GET /api/assets/{id}
//	GET /media/{id}/master.m3u8
//	GET /media/{id}/hls/{track}.m3u8
//	GET /media/{id}/files/{path...}   (?download=1 for an attachment)
//	GET /media/{id}/play.webm[?video=&audio=]   (VP8/VP9 + Opus remuxed to WebM)
package replay

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"github.com/classcast/classcast/recorder/catalog"
	"github.com/classcast/classcast/recorder/storage"
)

// Action is what a request wants to do with an asset.
type Action string

// Actions checked by the Authorizer.
const (
	ActionList     Action = "list"     // search the library (assetID is "")
	ActionRead     Action = "read"     // metadata, chapters, timeline
	ActionPlay     Action = "play"     // playlists and media segments
	ActionDownload Action = "download" // whole files as attachments
)

// Authorizer decides whether a request may perform action on an asset.
// The server passes one that checks LiveKit access tokens.
type Authorizer interface {
	Authorize(r *http.Request, action Action, assetID string) error
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(r *http.Request, action Action, assetID string) error

// Authorize implements Authorizer.
func (f AuthorizerFunc) Authorize(r *http.Request, a Action, id string) error { return f(r, a, id) }

// Config configures the handler.
type Config struct {
	Catalog *catalog.Catalog
	Store   storage.Store // the recorder's storage root
	Auth    Authorizer    // required
	// TokenParam, when set, is a query parameter carrying the viewer's
	// credentials (e.g. "access_token"): playlists repeat it on every URI
	// they list, because <video> and hls.js cannot add headers to the
	// requests a playlist leads to. "" leaves URIs bare.
	TokenParam string
	Logger     *slog.Logger // defaults to slog.Default()
}

type handler struct {
	cfg Config
	mux *http.ServeMux
}

// New returns the handler.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &handler{cfg: cfg, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /api/assets", h.list)
	h.mux.HandleFunc("GET /api/assets/{id}", h.get)
	h.mux.HandleFunc("GET /media/{id}/master.m3u8", h.master)
	h.mux.HandleFunc("GET /media/{id}/hls/{track}", h.media)
	h.mux.HandleFunc("GET /media/{id}/files/{path...}", h.file)
	h.mux.HandleFunc("GET /media/{id}/play.webm", h.playWebM)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *handler) authorize(w http.ResponseWriter, r *http.Request, a Action, id string) bool {
	err := h.cfg.Auth.Authorize(r, a, id)
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrUnauthorized):
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	default:
		http.Error(w, "forbidden", http.StatusForbidden)
	}
	return false
}

// asset authorizes and loads the asset named in the path.
func (h *handler) asset(w http.ResponseWriter, r *http.Request, a Action) (*catalog.Asset, bool) {
	id := r.PathValue("id")
	if !h.authorize(w, r, a, id) {
		return nil, false
	}
	as, err := h.cfg.Catalog.Get(r.Context(), id)
	if errors.Is(err, catalog.ErrNotFound) {
		http.NotFound(w, r)
		return nil, false
	}
	if err != nil {
		h.cfg.Logger.Warn("catalog get failed", "asset", id, "err", err)
		http.Error(w, "catalog unavailable", http.StatusInternalServerError)
		return nil, false
	}
	return as, true
}

// uriSuffix is the query string playlist URIs carry (see Config.TokenParam).
func (h *handler) uriSuffix(r *http.Request) string {
	if h.cfg.TokenParam == "" {
		return ""
	}
	v := r.URL.Query().Get(h.cfg.TokenParam)
	if v == "" {
		return ""
	}
	return "?" + url.Values{h.cfg.TokenParam: {v}}.Encode()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	if !h.authorize(w, r, ActionList, "") {
		return
	}
	v := r.URL.Query()
	q := catalog.Query{Course: v.Get("course"), Teacher: v.Get("teacher"), Tag: v.Get("tag"), Text: v.Get("q")}
	var err1, err2 error
	q.From, err1 = parseDate(v.Get("from"))
	q.To, err2 = parseDate(v.Get("to"))
	if err1 != nil || err2 != nil {
		http.Error(w, "from/to: RFC 3339 or YYYY-MM-DD", http.StatusBadRequest)
		return
	}
	q.Limit, _ = strconv.Atoi(v.Get("limit"))
	q.Offset, _ = strconv.Atoi(v.Get("offset"))
	if q.Limit > 500 {
		q.Limit = 500
	}
	assets, err := h.cfg.Catalog.Search(r.Context(), q)
	if err != nil {
		h.cfg.Logger.Warn("catalog search failed", "err", err)
		http.Error(w, "catalog unavailable", http.StatusInternalServerError)
		return
	}
	if assets == nil {
		assets = []*catalog.Asset{}
	}
	writeJSON(w, map[string]any{"assets": assets})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	a, ok := h.asset(w, r, ActionRead)
	if !ok {
		return
	}
	out := map[string]any{"asset": a}
	if a.Timeline != "" {
		if events, err := h.readTimeline(a); err == nil {
			out["timeline"] = events
		}
	}
	writeJSON(w, out)
}

func (h *handler) file(w http.ResponseWriter, r *http.Request) {
	action := ActionPlay
	download := r.URL.Query().Get("download") == "1"
	if download {
		action = ActionDownload
	}
	a, ok := h.asset(w, r, action)
	if !ok {
		return
	}
	rel, err := storage.CleanName(r.PathValue("path"))
	if err != nil {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	obj, err := h.cfg.Store.Open(path.Join(a.Dir, rel))
	if err != nil {
		if errors.Is(err, storage.ErrBadPath) {
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		}
		http.NotFound(w, r)
		return
	}
	defer obj.Close()
	if download {
		w.Header().Set("Content-Disposition", `attachment; filename="`+a.ID+"-"+path.Base(rel)+`"`)
	}
	switch path.Ext(rel) {
	case ".mp4":
		w.Header().Set("Content-Type", "video/mp4")
	case ".jpg":
		w.Header().Set("Content-Type", "image/jpeg")
	case ".jsonl":
		w.Header().Set("Content-Type", "application/jsonl")
	}
	http.ServeContent(w, r, "", obj.ModTime(), obj)
}
