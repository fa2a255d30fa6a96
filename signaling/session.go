package signaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/classcast/classcast/sfu/room"
)

const (
	// sendQueue bounds messages waiting for a slow client; past it the
	// session is closed rather than letting memory grow.
	sendQueue = 512
	// maxMessage bounds one signaling message (an SDP with hundreds of
	// m-lines is well under this).
	maxMessage = 1 << 20
	// maxBadMessages: a client that keeps sending garbage is disconnected.
	maxBadMessages = 20
	writeTimeout   = 10 * time.Second
	pingEvery      = 10 * time.Second
)

// session is one WebSocket connection: a reader loop dispatching requests and
// a writer goroutine draining the bounded queue. It implements room.SignalSink.
type session struct {
	conn *websocket.Conn
	// json: answer in protojson text frames (the client used them).
	json   atomic.Bool
	log    *slog.Logger
	out    chan *livekit.SignalResponse
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup

	closeOnce sync.Once
	closing   chan struct{}
	// written is closed when the write loop has ended.
	written chan struct{}

	room *room.Room
	part *room.Participant
	bad  int
}

func newSession(conn *websocket.Conn, jsonMode bool, log *slog.Logger) *session {
	ctx, cancel := context.WithCancelCause(context.Background())
	s := &session{
		conn: conn, log: log,
		out: make(chan *livekit.SignalResponse, sendQueue), ctx: ctx, cancel: cancel,
		closing: make(chan struct{}), written: make(chan struct{}),
	}
	s.json.Store(jsonMode)
	conn.SetReadLimit(maxMessage)
	s.wg.Add(2)
	go s.writeLoop()
	go s.pingLoop()
	return s
}

// Send implements room.SignalSink: queue without blocking.
func (s *session) Send(msg *livekit.SignalResponse) {
	select {
	case <-s.ctx.Done():
	case s.out <- msg:
	default:
		s.cancel(errors.New("client too slow to read signaling"))
	}
}

// Close implements room.SignalSink: flush what is queued, then close.
func (s *session) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
}

func (s *session) writeLoop() {
	defer s.wg.Done()
	defer close(s.written)
	for {
		select {
		case <-s.ctx.Done():
			return
		case msg := <-s.out:
			if err := s.write(msg); err != nil {
				s.cancel(fmt.Errorf("write: %w", err))
				return
			}
		case <-s.closing:
			for {
				select {
				case msg := <-s.out:
					if s.write(msg) != nil {
						s.cancel(errors.New("closed by server"))
						return
					}
				default:
					_ = s.conn.Close(websocket.StatusNormalClosure, "")
					s.cancel(errors.New("closed by server"))
					return
				}
			}
		}
	}
}

func (s *session) write(msg *livekit.SignalResponse) error {
	var (
		b   []byte
		err error
		typ = websocket.MessageBinary
	)
	if s.json.Load() {
		b, err = protojson.Marshal(msg)
		typ = websocket.MessageText
	} else {
		b, err = proto.Marshal(msg)
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(s.ctx, writeTimeout)
	defer cancel()
	return s.conn.Write(ctx, typ, b)
}

func (s *session) pingLoop() {
	defer s.wg.Done()
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(s.ctx, pingEvery)
			err := s.conn.Ping(ctx)
			cancel()
			if err != nil && s.ctx.Err() == nil {
				s.cancel(fmt.Errorf("ping: %w", err))
				return
			}
		}
	}
}

// read returns the next request; a malformed one yields (nil, nil) after
// telling the client.
func (s *session) read() (*livekit.SignalRequest, error) {
	typ, b, err := s.conn.Read(s.ctx)
	if err != nil {
		return nil, err
	}
	if typ == websocket.MessageText {
		s.json.Store(true)
	}
	req, err := decodeRequest(typ, b)
	if err != nil {
		s.bad++
		s.Send(requestError(livekit.RequestResponse_INVALID_REQUEST, "malformed signal request: "+err.Error()))
		if s.bad > maxBadMessages {
			return nil, fmt.Errorf("%w: too many malformed messages", ErrProtocol)
		}
		return nil, nil
	}
	return req, nil
}

// wait ends the session and waits for its goroutines.
func (s *session) wait(cause error) {
	select {
	case <-s.closing:
		// The server is ending the session: let queued messages (a leave,
		// an error) and the close handshake go out first.
		select {
		case <-s.written:
		case <-time.After(2 * time.Second):
		}
	default:
	}
	s.cancel(cause)
	_ = s.conn.CloseNow()
	s.wg.Wait()
}

func requestError(reason livekit.RequestResponse_Reason, msg string) *livekit.SignalResponse {
	return &livekit.SignalResponse{Message: &livekit.SignalResponse_RequestResponse{
		RequestResponse: &livekit.RequestResponse{Reason: reason, Message: msg},
	}}
}

// decodeRequest parses one client message in either framing.
func decodeRequest(typ websocket.MessageType, b []byte) (*livekit.SignalRequest, error) {
	req := &livekit.SignalRequest{}
	var err error
	if typ == websocket.MessageText {
		err = protojson.Unmarshal(b, req)
	} else {
		err = proto.Unmarshal(b, req)
	}
	if err == nil && req.Message == nil {
		err = errors.New("empty or unknown message")
	}
	if err != nil {
		return nil, err
	}
	return req, nil
}
