package classroom

import "errors"

var (
	// ErrUnknownRole is returned for a role name outside the contract's table.
	ErrUnknownRole = errors.New("classroom: unknown role")
	// ErrMissingClassroom is returned when a classroom role has no classroom id.
	ErrMissingClassroom = errors.New("classroom: classroom id required for this role")
	// ErrUnknownMode is returned for a room mode other than lesson or meeting.
	ErrUnknownMode = errors.New("classroom: unknown mode")
)

// Error codes of classcast.res (docs/classroom-protocol.md).
const (
	codeNotAllowed  = "not_allowed"
	codeNotFound    = "not_found"
	codeBadRequest  = "bad_request"
	codeLimit       = "limit"
	codeRateLimited = "rate_limited"
)

// refusal is a request answered with an error; it never changes state.
type refusal struct {
	code    string
	message string
}

func (r *refusal) Error() string { return r.code + ": " + r.message }

func refuse(code, msg string) *refusal { return &refusal{code: code, message: msg} }
