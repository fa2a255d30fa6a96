// Package signaling speaks the LiveKit signaling protocol (v0, two peer
// connections) over WebSocket, verifies access tokens, and serves LiveKit's
// RoomService Twirp API, translating both onto the SFU's rooms.
package signaling

import "errors"

var (
	// ErrNoToken means the request carried no access token.
	ErrNoToken = errors.New("signaling: no access token")
	// ErrInvalidToken means the token could not be parsed or verified.
	ErrInvalidToken = errors.New("signaling: invalid access token")
	// ErrUnknownKey means the token names an API key this server does not have.
	ErrUnknownKey = errors.New("signaling: unknown API key")
	// ErrPermission means a valid token lacks the grant for the action.
	ErrPermission = errors.New("signaling: permission denied")
	// ErrProtocol means the client broke the signaling protocol.
	ErrProtocol = errors.New("signaling: protocol error")
)
