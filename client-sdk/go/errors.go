package client

import (
	"errors"
	"fmt"

	"github.com/livekit/protocol/livekit"
)

var (
	// ErrNoJoinResponse is returned by Connect when the server's first message is not a JoinResponse
	// (or, on resume, a ReconnectResponse).
	ErrNoJoinResponse = errors.New("client: did not receive join response")
	// ErrClosed is returned by Room methods after Close or after the room was disconnected for good.
	ErrClosed = errors.New("client: room closed")
	// ErrPublishTimeout is returned when the server does not answer an AddTrackRequest in time.
	ErrPublishTimeout = errors.New("client: timed out waiting for track published response")
	// ErrDataChannelNotOpen is returned by SendData when the publisher data channel did not open in time.
	ErrDataChannelNotOpen = errors.New("client: data channel not open")
	// ErrUnknownTrack is returned for a track SID or CID the room does not know.
	ErrUnknownTrack = errors.New("client: unknown track")
	// ErrNoSimulcastLayers is returned by PublishSimulcast when given no layer.
	ErrNoSimulcastLayers = errors.New("client: simulcast needs at least one layer")
	// ErrPingTimeout is the drop reason when no pong arrived within the join response's ping_timeout.
	ErrPingTimeout = errors.New("client: ping timeout")
	// ErrSimulatedDrop is the drop reason after SimulateDrop.
	ErrSimulatedDrop = errors.New("client: simulated signal drop")
	// ErrReconnectFailed is the disconnect reason when resume and full rejoin both gave up.
	ErrReconnectFailed = errors.New("client: reconnect failed")
	// ErrBadRTP is returned by RemoteTrack.ReadPacket for a packet that does not parse as RTP; the
	// track is still usable.
	ErrBadRTP = errors.New("client: bad rtp packet")
	// ErrUnexpectedMessage is returned for a signal message that has no place in the current state.
	ErrUnexpectedMessage = errors.New("client: unexpected signal message")
)

// LeaveError is the reason a room ended because the server sent a LeaveRequest with action DISCONNECT.
// Use errors.As to read it from a Disconnected event.
type LeaveError struct {
	Reason livekit.DisconnectReason
	Action livekit.LeaveRequest_Action
}

func (e *LeaveError) Error() string {
	return fmt.Sprintf("client: server sent leave (reason %s, action %s)", e.Reason, e.Action)
}

// HandshakeError is returned by Connect when the WebSocket upgrade was refused; StatusCode and Body are
// the HTTP response's (a LiveKit-compatible server puts the reason in the body).
type HandshakeError struct {
	StatusCode int
	Body       string
	Err        error
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("client: websocket handshake failed (HTTP %d: %q): %v", e.StatusCode, e.Body, e.Err)
}

func (e *HandshakeError) Unwrap() error { return e.Err }
