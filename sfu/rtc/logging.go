package rtc

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// slogFactory routes pion's internal logging into the node's slog logger, one
// level down: pion reports expected network noise (stale ICE candidates,
// closed pipes at teardown) as errors.
type slogFactory struct{ log *slog.Logger }

func (f slogFactory) NewLogger(scope string) logging.LeveledLogger {
	return slogLogger{f.log.With("pion", scope)}
}

type slogLogger struct{ log *slog.Logger }

// logf formats only when the level is enabled: besides saving the work, pion
// hands some of these calls live objects (a TrackRemote in onTrack) that its
// other goroutines are still writing, and formatting them with %v is a data
// race. With debug logging off nothing reads them.
func (l slogLogger) logf(level slog.Level, f string, a []any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(f, a...))
}

func (l slogLogger) Trace(string)              {}
func (l slogLogger) Tracef(string, ...any)     {}
func (l slogLogger) Debug(m string)            { l.log.Debug(m) }
func (l slogLogger) Debugf(f string, a ...any) { l.logf(slog.LevelDebug, f, a) }
func (l slogLogger) Info(m string)             { l.log.Debug(m) }
func (l slogLogger) Infof(f string, a ...any)  { l.logf(slog.LevelDebug, f, a) }
func (l slogLogger) Warn(m string)             { l.log.Debug(m) }
func (l slogLogger) Warnf(f string, a ...any)  { l.logf(slog.LevelDebug, f, a) }
func (l slogLogger) Error(m string)            { l.log.Info(m) }
func (l slogLogger) Errorf(f string, a ...any) { l.logf(slog.LevelInfo, f, a) }
