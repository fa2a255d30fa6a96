package ingest

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/livekit/protocol/auth"

	"github.com/classcast/classcast/sfu/rtsp"
	"github.com/classcast/classcast/signaling"
)

// Auth checks LiveKit access tokens and per-room stream keys. It implements
// rtsp.Authenticator and answers the HTTP handlers' questions.
type Auth struct {
	keys signaling.Keys

	mu         sync.RWMutex
	streamKeys map[string]string // room → key
}

var _ rtsp.Authenticator = (*Auth)(nil)

// NewAuth checks tokens against keys; streamKeys maps room names to the
// stream key an encoder may use instead of a token to publish there.
func NewAuth(keys signaling.Keys, streamKeys map[string]string) *Auth {
	sk := make(map[string]string, len(streamKeys))
	for r, k := range streamKeys {
		if k != "" {
			sk[r] = k
		}
	}
	return &Auth{keys: keys, streamKeys: sk}
}

func (a *Auth) streamKey(roomName string) string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.streamKeys[roomName]
}

// Authorize implements rtsp.Authenticator: the password is a token (the user
// name is free) or, for publishing, the room's stream key.
func (a *Auth) Authorize(access rtsp.Access, roomName, _, _, pass string) error {
	switch access {
	case rtsp.AccessPublish:
		if k := a.streamKey(roomName); k != "" && subtle.ConstantTimeCompare([]byte(k), []byte(pass)) == 1 {
			return nil
		}
		_, err := a.Publisher(pass, roomName)
		return err
	case rtsp.AccessRead:
		_, err := a.Subscriber(pass, roomName)
		return err
	}
	return fmt.Errorf("%w: unknown access %v", ErrForbidden, access)
}

// DigestSecrets implements rtsp.Authenticator: only stream keys can be
// checked with Digest, and only for publishing.
func (a *Auth) DigestSecrets(access rtsp.Access, roomName, _ string) []string {
	if access != rtsp.AccessPublish {
		return nil
	}
	if k := a.streamKey(roomName); k != "" {
		return []string{k}
	}
	return nil
}

// verify checks a raw token.
func (a *Auth) verify(tok string) (*auth.ClaimGrants, error) {
	if tok == "" {
		return nil, fmt.Errorf("%w: no access token", ErrUnauthorized)
	}
	g, err := a.keys.Verify(tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return g, nil
}

// inRoom checks that the token joins roomName.
func inRoom(g *auth.ClaimGrants, roomName string) error {
	if g.Video == nil || !g.Video.RoomJoin || g.Video.Room != roomName {
		return fmt.Errorf("%w: token does not grant roomJoin for room %q", ErrForbidden, roomName)
	}
	return nil
}

// Publisher checks that tok may publish in roomName and returns its grants.
func (a *Auth) Publisher(tok, roomName string) (*auth.ClaimGrants, error) {
	g, err := a.verify(tok)
	if err != nil {
		return nil, err
	}
	if err := inRoom(g, roomName); err != nil {
		return nil, err
	}
	if !g.Video.GetCanPublish() {
		return nil, fmt.Errorf("%w: token lacks canPublish in room %q", ErrForbidden, roomName)
	}
	return g, nil
}

// Subscriber checks that tok may subscribe in roomName.
func (a *Auth) Subscriber(tok, roomName string) (*auth.ClaimGrants, error) {
	g, err := a.verify(tok)
	if err != nil {
		return nil, err
	}
	if err := inRoom(g, roomName); err != nil {
		return nil, err
	}
	if !g.Video.GetCanSubscribe() {
		return nil, fmt.Errorf("%w: token lacks canSubscribe in room %q", ErrForbidden, roomName)
	}
	return g, nil
}

// Admin checks that tok may manage ingest in roomName ("" = any room):
// ingressAdmin anywhere, or roomAdmin for that room (a roomAdmin token
// without a room is an admin of every room).
func (a *Auth) Admin(tok, roomName string) (*auth.ClaimGrants, error) {
	g, err := a.verify(tok)
	if err != nil {
		return nil, err
	}
	v := g.Video
	switch {
	case v == nil:
	case v.IngressAdmin:
		return g, nil
	case v.RoomAdmin && (v.Room == "" || v.Room == roomName):
		return g, nil
	}
	return nil, fmt.Errorf("%w: token lacks ingressAdmin (or roomAdmin for room %q)", ErrForbidden, roomName)
}

// IngressAdmin checks the ingressAdmin grant (the Ingress service).
func (a *Auth) IngressAdmin(tok string) error {
	g, err := a.verify(tok)
	if err != nil {
		return err
	}
	if g.Video == nil || !g.Video.IngressAdmin {
		return fmt.Errorf("%w: token lacks the ingressAdmin grant", ErrForbidden)
	}
	return nil
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
