package sdpoffer

import "errors"

// Sentinel errors of the package; callers test with errors.Is.
var (
	// ErrInvalid: the offer (or trickle fragment) is malformed, or pion
	// refused it. The message says why.
	ErrInvalid = errors.New("invalid SDP")
	// ErrTimeout: applying the offer and answering took longer than allowed.
	ErrTimeout = errors.New("SDP negotiation timed out")
	// ErrCancelled: the caller's context ended during the negotiation.
	ErrCancelled = errors.New("SDP negotiation cancelled")
)
