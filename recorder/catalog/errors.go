package catalog

import "errors"

var (
	// ErrNotFound is returned by Get for an unknown asset.
	ErrNotFound = errors.New("catalog: asset not found")
	// ErrInvalid is returned for an asset or query that cannot be stored or run.
	ErrInvalid = errors.New("catalog: invalid")
)
