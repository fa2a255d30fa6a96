package replay

import "errors"

var (
	// ErrUnauthorized is returned by an Authorizer when the request carries
	// no valid credentials (HTTP 401).
	ErrUnauthorized = errors.New("replay: unauthorized")
	// ErrForbidden is returned by an Authorizer when the credentials do not
	// allow the action (HTTP 403). Any other error is also mapped to 403.
	ErrForbidden = errors.New("replay: forbidden")
	// ErrNoTimeScale is returned for a track file whose moov has no mdhd
	// time scale, so its sample times mean nothing.
	ErrNoTimeScale = errors.New("replay: track file without time scale")
)
