package rtc

import (
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

func (l slogLogger) Trace(string)          {}
func (l slogLogger) Tracef(string, ...any) {}
func (l slogLogger) Debug(m string)        { l.log.Debug(m) }
func (l slogLogger) Debugf(f string, a ...any) {
	l.log.Debug(fmt.Sprintf(f, a...))
}
func (l slogLogger) Info(m string)             { l.log.Debug(m) }
func (l slogLogger) Infof(f string, a ...any)  { l.log.Debug(fmt.Sprintf(f, a...)) }
func (l slogLogger) Warn(m string)             { l.log.Debug(m) }
func (l slogLogger) Warnf(f string, a ...any)  { l.log.Debug(fmt.Sprintf(f, a...)) }
func (l slogLogger) Error(m string)            { l.log.Info(m) }
func (l slogLogger) Errorf(f string, a ...any) { l.log.Info(fmt.Sprintf(f, a...)) }
