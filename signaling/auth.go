package signaling

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/livekit/protocol/auth"
)

// Keys maps API keys to their secrets.
type Keys map[string]string

// Verify checks a raw JWT against the keys and returns its grants.
func (k Keys) Verify(raw string) (*auth.ClaimGrants, error) {
	if raw == "" {
		return nil, ErrNoToken
	}
	v, err := auth.ParseAPIToken(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	secret, ok := k[v.APIKey()]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKey, v.APIKey())
	}
	_, grants, err := v.Verify(secret)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return grants, nil
}

// tokenFrom finds the token in the Authorization header or the query.
func tokenFrom(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	return r.URL.Query().Get("access_token")
}

// httpStatus maps auth errors to HTTP status codes.
func httpStatus(err error) int {
	switch {
	case errors.Is(err, ErrPermission):
		return http.StatusForbidden
	case errors.Is(err, ErrNoToken), errors.Is(err, ErrInvalidToken), errors.Is(err, ErrUnknownKey):
		return http.StatusUnauthorized
	default:
		return http.StatusInternalServerError
	}
}

// joinGrants checks that a token may join a room and returns the room name.
func joinGrants(g *auth.ClaimGrants) (string, error) {
	if g.Video == nil || !g.Video.RoomJoin {
		return "", fmt.Errorf("%w: token lacks the roomJoin grant", ErrPermission)
	}
	if g.Video.Room == "" {
		return "", fmt.Errorf("%w: token names no room", ErrPermission)
	}
	if g.Identity == "" {
		return "", fmt.Errorf("%w: token has no identity", ErrPermission)
	}
	return g.Video.Room, nil
}
