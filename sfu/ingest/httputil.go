package ingest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sync"
	"time"
)

// httpStatus maps the package's errors to HTTP status codes.
func httpStatus(err error) int {
	switch {
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnsupported):
		return http.StatusNotAcceptable
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrClosed), errors.Is(err, ErrRoomGone):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeError answers with the status for err and the error text as the
// body, so curl and encoders show the reason. Refusals are logged at most
// once per key and interval.
func writeError(w http.ResponseWriter, lim *limiter, log *slog.Logger, op string, err error) {
	code := httpStatus(err)
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="classcast"`)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, err.Error()+"\n")
	lim.warn(log, fmt.Sprintf("%s:%d", op, code), "request refused", "op", op, "status", code, "error", err)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// readBody reads at most limit bytes of a body with the given media type.
func readBody(r *http.Request, wantType string, limit int64) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != wantType {
		return nil, fmt.Errorf("%w: Content-Type must be %s", errUnsupportedMedia, wantType)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading body: %w", ErrBadRequest, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: body larger than %d bytes", errTooLarge, limit)
	}
	return b, nil
}

// errUnsupportedMedia and errTooLarge refine ErrBadRequest for their status.
var (
	errUnsupportedMedia = fmt.Errorf("%w: unsupported media type", ErrBadRequest)
	errTooLarge         = fmt.Errorf("%w: too large", ErrBadRequest)
)

// bodyStatus is httpStatus with 415 and 413 for body problems.
func bodyError(w http.ResponseWriter, lim *limiter, log *slog.Logger, op string, err error) {
	code := 0
	switch {
	case errors.Is(err, errUnsupportedMedia):
		code = http.StatusUnsupportedMediaType
	case errors.Is(err, errTooLarge):
		code = http.StatusRequestEntityTooLarge
	default:
		writeError(w, lim, log, op, err)
		return
	}
	http.Error(w, err.Error(), code)
	lim.warn(log, fmt.Sprintf("%s:%d", op, code), "request refused", "op", op, "status", code, "error", err)
}

func newID(prefix string) string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// limiter rate-limits repeated warnings by key.
type limiter struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
}

func newLimiter(every time.Duration) *limiter {
	return &limiter{every: every, last: map[string]time.Time{}}
}

func (l *limiter) warn(log *slog.Logger, key, msg string, args ...any) {
	now := time.Now()
	l.mu.Lock()
	if t, ok := l.last[key]; ok && now.Sub(t) < l.every {
		l.mu.Unlock()
		return
	}
	if len(l.last) > 1024 { // keys come from a small set; never grow without bound
		clear(l.last)
	}
	l.last[key] = now
	l.mu.Unlock()
	log.Warn(msg, args...)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
