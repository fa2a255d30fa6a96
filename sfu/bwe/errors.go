package bwe

import "errors"

// ErrInvalidFeedback is returned for a TWCC feedback packet whose status
// chunks and receive deltas disagree.
var ErrInvalidFeedback = errors.New("bwe: invalid transport-wide cc feedback")
