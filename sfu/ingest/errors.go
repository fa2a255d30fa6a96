package ingest

import "errors"

// Sentinel errors of the package. HTTP handlers map them to status codes
// (httpStatus); callers test with errors.Is.
var (
	// ErrUnauthorized: no credentials, or a token that does not verify.
	ErrUnauthorized = errors.New("ingest: unauthorized")
	// ErrForbidden: a valid token without the grant the operation needs.
	ErrForbidden = errors.New("ingest: forbidden")
	// ErrNotFound: unknown room, participant, session, camera or ingress.
	ErrNotFound = errors.New("ingest: not found")
	// ErrBadRequest: malformed path, body or SDP.
	ErrBadRequest = errors.New("ingest: bad request")
	// ErrUnsupported: a codec, input type or feature classcast does not carry.
	ErrUnsupported = errors.New("ingest: unsupported")
	// ErrConflict: an ID already in use.
	ErrConflict = errors.New("ingest: conflict")
	// ErrRoomGone: the room (or the ingest participant) closed under a publisher.
	ErrRoomGone = errors.New("ingest: room closed")
	// ErrClosed: the service is shutting down.
	ErrClosed = errors.New("ingest: closed")
)

func isErr(err, target error) bool { return errors.Is(err, target) }
