package cluster

import "errors"

var (
	// ErrDirectoryUnavailable is returned by calls that need a fresh answer
	// from NATS (new joins, origin claims) while NATS cannot be reached.
	// Running lessons do not see it: they keep using cached state.
	ErrDirectoryUnavailable = errors.New("cluster: directory unavailable")

	// ErrOriginTaken is returned by ClaimOrigin when another live node holds
	// the room's origin lease. Use errors.As with *OriginTakenError to learn
	// which node.
	ErrOriginTaken = errors.New("cluster: origin held by another node")

	// ErrNoOrigin is returned by Origin when nobody holds the room.
	ErrNoOrigin = errors.New("cluster: room has no origin")

	// ErrNoNodes is returned by edge choice when no node can take a join.
	ErrNoNodes = errors.New("cluster: no node available")

	// ErrLeaseReleased is returned by Lease methods after Release.
	ErrLeaseReleased = errors.New("cluster: lease released")

	// ErrClosed is returned after Directory.Close.
	ErrClosed = errors.New("cluster: directory closed")

	errEmbeddedNotReady = errors.New("cluster: embedded NATS server not ready in time")
	errInvalidConfig    = errors.New("cluster: invalid config")
)

// OriginTakenError says which node holds a room.
type OriginTakenError struct {
	Room   string
	Holder string // node id
}

func (e *OriginTakenError) Error() string {
	return "cluster: origin of room " + e.Room + " held by " + e.Holder
}

// Unwrap lets errors.Is(err, ErrOriginTaken) match.
func (e *OriginTakenError) Unwrap() error { return ErrOriginTaken }
