package room

import (
	"sync/atomic"

	"github.com/livekit/protocol/livekit"
)

// SignalSink delivers server messages to a participant's client. The
// signaling session implements it; on resume a new session replaces the old.
// Send must not block: it queues.
type SignalSink interface {
	Send(msg *livekit.SignalResponse)
	// Close ends the signaling connection after queued messages are sent.
	Close()
}

// signalOut holds the participant's current sink.
type signalOut struct {
	sink atomic.Pointer[sinkBox]
}

type sinkBox struct{ s SignalSink }

func (o *signalOut) set(s SignalSink) {
	if s == nil {
		o.sink.Store(nil)
		return
	}
	o.sink.Store(&sinkBox{s})
}

func (o *signalOut) send(msg *livekit.SignalResponse) {
	if b := o.sink.Load(); b != nil {
		b.s.Send(msg)
	}
}

func (o *signalOut) close() {
	if b := o.sink.Swap(nil); b != nil {
		b.s.Close()
	}
}
