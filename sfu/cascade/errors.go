package cascade

import "errors"

var (
	// ErrClosed is returned by calls on a closed Link or Server.
	ErrClosed = errors.New("cascade: closed")
	// ErrAuth is returned when a peer cannot be authenticated as a member
	// of this cluster.
	ErrAuth = errors.New("cascade: peer not authenticated")
	// ErrBadFrame is returned for a payload that is not a media frame.
	ErrBadFrame = errors.New("cascade: malformed media frame")
	// ErrBadMessage is returned for a malformed control message.
	ErrBadMessage = errors.New("cascade: malformed control message")
	// ErrMessageTooLarge is returned for a control message over the limit.
	ErrMessageTooLarge = errors.New("cascade: control message too large")
	// ErrProtocol is returned when the peer breaks the link protocol
	// (wrong first message, wrong version).
	ErrProtocol = errors.New("cascade: protocol violation")
	// ErrNotConnected is returned by calls that need the link up.
	ErrNotConnected = errors.New("cascade: link not connected")
	// ErrSubscribe is returned (wrapped with the parent's reason) when the
	// parent refuses a subscription.
	ErrSubscribe = errors.New("cascade: subscription refused")

	errInvalidConfig = errors.New("cascade: invalid config")
)
