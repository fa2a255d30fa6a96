package rtsp

import (
	"log/slog"
	"sync"
	"time"
)

// logLimiter lets through one log line per cause per interval, so a camera
// that keeps sending garbage or a client that keeps failing auth produces one
// line, not one per packet or request.
type logLimiter struct {
	interval time.Duration

	mu   sync.Mutex
	last map[string]time.Time
}

const logLimiterMaxKeys = 4096

func newLogLimiter(interval time.Duration) *logLimiter {
	return &logLimiter{interval: interval, last: make(map[string]time.Time)}
}

// allow reports whether a line for cause may be logged now.
func (l *logLimiter) allow(cause string) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.last[cause]; ok && now.Sub(t) < l.interval {
		return false
	}
	if len(l.last) >= logLimiterMaxKeys {
		clear(l.last) // bounded memory under a flood of distinct causes
	}
	l.last[cause] = now
	return true
}

// warn logs msg at warning level once per interval for cause.
func (l *logLimiter) warn(log *slog.Logger, cause, msg string, args ...any) {
	if l.allow(cause) {
		log.Warn(msg, args...)
	}
}
