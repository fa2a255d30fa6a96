package rtsp

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/headers"
)

// authorize checks the request's credentials for path with the
// Authenticator. It returns nil, errNoCredentials (gortsplib then answers
// 401 with a WWW-Authenticate challenge) or an error wrapping
// ErrUnauthorized (401, connection closed).
func (s *Server) authorize(conn *gortsplib.ServerConn, req *base.Request, access Access, p Path) error {
	if tok := queryToken(req); tok != "" {
		// ffmpeg copies the URL's user:password into a 128-byte buffer, so
		// a LiveKit token (300+ bytes) cannot travel as the password: it
		// is accepted as ?token=… instead.
		if err := s.cfg.Auth.Authorize(access, p.Room, p.Participant, "", tok); err != nil {
			return fmt.Errorf("%w: %s %s with ?token: %w", ErrUnauthorized, access, p, err)
		}
		return nil
	}
	var h headers.Authorization
	if err := h.Unmarshal(req.Header["Authorization"]); err != nil {
		// Make gortsplib create this connection's Digest nonce before it
		// writes the challenge; the placeholder user can never match.
		conn.VerifyCredentials(req, "\x00", "")
		return errNoCredentials
	}
	switch h.Method {
	case headers.AuthMethodBasic:
		if err := s.cfg.Auth.Authorize(access, p.Room, p.Participant, h.Username, h.BasicPass); err != nil {
			return fmt.Errorf("%w: %s %s as %q: %w", ErrUnauthorized, access, p, h.Username, err)
		}
		return nil
	case headers.AuthMethodDigest:
		if s.cfg.BasicOnly {
			return fmt.Errorf("%w: digest authentication disabled", ErrUnauthorized)
		}
		for _, secret := range s.cfg.Auth.DigestSecrets(access, p.Room, p.Participant) {
			if secret != "" && h.Username != "" && conn.VerifyCredentials(req, h.Username, secret) {
				if err := s.cfg.Auth.Authorize(access, p.Room, p.Participant, h.Username, secret); err != nil {
					return fmt.Errorf("%w: %s %s as %q: %w", ErrUnauthorized, access, p, h.Username, err)
				}
				return nil
			}
		}
		return fmt.Errorf("%w: %s %s as %q: wrong digest credentials", ErrUnauthorized, access, p, h.Username)
	}
	return fmt.Errorf("%w: unsupported authentication method", ErrUnauthorized)
}

// queryToken returns the token= (or access_token=) query parameter of the
// request URL, ignoring the /trackID=N suffix players append to it in SETUP.
func queryToken(req *base.Request) string {
	if req.URL == nil || req.URL.RawQuery == "" {
		return ""
	}
	raw := req.URL.RawQuery
	if i := strings.LastIndex(raw, "/trackID="); i >= 0 {
		raw = raw[:i]
	}
	if i := strings.LastIndex(raw, "/streamid="); i >= 0 {
		raw = raw[:i]
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return ""
	}
	if t := q.Get("token"); t != "" {
		return t
	}
	return q.Get("access_token")
}
