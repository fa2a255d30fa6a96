package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// OriginInfo says which node holds a room.
type OriginInfo struct {
	Room   string
	NodeID string
	Since  time.Time
}

type originValue struct {
	NodeID string    `json:"node_id"`
	Since  time.Time `json:"since"`
}

// Lease is this node's claim on being a room's origin. The directory renews
// it every heartbeat; if the node dies the key ages out after LeaseTTL and
// another node can claim the room.
type Lease struct {
	d    *Directory
	room string
	lost chan struct{}

	mu       sync.Mutex
	rev      uint64
	since    time.Time
	released bool
}

// Room is the leased room.
func (l *Lease) Room() string { return l.room }

// Lost is closed when renewal finds another node holding the room (our
// lease expired, e.g. during a long NATS outage, and someone claimed it).
// The core must then stop being origin and cascade from the new one.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Release gives the room up (on room close). It is idempotent.
func (l *Lease) Release(ctx context.Context) error {
	return l.release(ctx)
}

func (l *Lease) release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	l.released = true
	l.d.forgetLease(l)
	err := l.d.origKV.Delete(ctx, kvKey(l.room), jetstream.LastRevision(l.rev))
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !isWrongRevision(err) {
		return unavailable("release origin", err)
	}
	return nil
}

// ClaimOrigin makes this node the origin of room if nobody holds it or the
// holder's lease expired (atomic create-if-absent on the KV). If this node
// already holds it, the existing lease is returned. Another live holder
// gives an *OriginTakenError (errors.Is ErrOriginTaken).
func (d *Directory) ClaimOrigin(ctx context.Context, room string) (*Lease, error) {
	if d.ctx.Err() != nil {
		return nil, ErrClosed
	}
	if !d.nc.IsConnected() {
		return nil, ErrDirectoryUnavailable
	}
	d.mu.Lock()
	if l, ok := d.leases[room]; ok {
		d.mu.Unlock()
		return l, nil
	}
	d.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, d.cfg.OpTimeout)
	defer cancel()
	since := time.Now()
	val, _ := json.Marshal(originValue{NodeID: d.cfg.Self.ID, Since: since})
	key := kvKey(room)
	for range 2 { // a second try covers a lease expiring between Create and Get
		rev, err := d.origKV.Create(ctx, key, val)
		if err == nil {
			return d.addLease(room, rev, since), nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, unavailable("claim origin", err)
		}
		e, err := d.origKV.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			continue
		}
		if err != nil {
			return nil, unavailable("read origin", err)
		}
		var cur originValue
		_ = json.Unmarshal(e.Value(), &cur)
		if cur.NodeID != d.cfg.Self.ID {
			d.rememberOrigin(OriginInfo{Room: room, NodeID: cur.NodeID, Since: cur.Since})
			return nil, &OriginTakenError{Room: room, Holder: cur.NodeID}
		}
		// Ours from before a restart of this process: adopt it.
		return d.addLease(room, e.Revision(), cur.Since), nil
	}
	return nil, unavailable("claim origin", context.DeadlineExceeded)
}

func (d *Directory) addLease(room string, rev uint64, since time.Time) *Lease {
	l := &Lease{d: d, room: room, rev: rev, since: since, lost: make(chan struct{})}
	d.mu.Lock()
	d.leases[room] = l
	d.origins[room] = OriginInfo{Room: room, NodeID: d.cfg.Self.ID, Since: since}
	d.mu.Unlock()
	return l
}

func (d *Directory) forgetLease(l *Lease) {
	d.mu.Lock()
	if d.leases[l.room] == l {
		delete(d.leases, l.room)
		delete(d.origins, l.room)
	}
	d.mu.Unlock()
}

func (d *Directory) rememberOrigin(o OriginInfo) {
	d.mu.Lock()
	d.origins[o.Room] = o
	d.mu.Unlock()
}

// renewLeases runs on the actor at every heartbeat.
func (d *Directory) renewLeases() {
	d.mu.Lock()
	leases := make([]*Lease, 0, len(d.leases))
	for _, l := range d.leases {
		leases = append(leases, l)
	}
	d.mu.Unlock()
	for _, l := range leases {
		if err := d.renew(l); err != nil {
			d.log.Debug("lease renewal failed", "room", l.room, "err", err)
		}
	}
}

func (d *Directory) renew(l *Lease) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	ctx, cancel := context.WithTimeout(d.ctx, d.cfg.OpTimeout)
	defer cancel()
	val, _ := json.Marshal(originValue{NodeID: d.cfg.Self.ID, Since: l.since})
	key := kvKey(l.room)
	rev, err := d.origKV.Update(ctx, key, val, l.rev)
	if err == nil {
		l.rev = rev
		return nil
	}
	if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !isWrongRevision(err) {
		return unavailable("renew origin", err) // NATS down: keep the lease, retry
	}
	// Our key aged out (NATS outage longer than LeaseTTL). Reclaim it if
	// nobody else did in between.
	rev, err = d.origKV.Create(ctx, key, val)
	if err == nil {
		l.rev = rev
		return nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return unavailable("reclaim origin", err)
	}
	l.released = true
	d.forgetLease(l)
	close(l.lost)
	d.log.Warn("origin lease lost to another node", "room", l.room)
	return fmt.Errorf("%w: room %s", ErrOriginTaken, l.room)
}

func isWrongRevision(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// Origin looks up which node holds room, asking NATS. It returns
// ErrNoOrigin if nobody does and ErrDirectoryUnavailable if NATS is down
// (use CachedOrigin on paths that must not fail).
func (d *Directory) Origin(ctx context.Context, room string) (OriginInfo, error) {
	if !d.nc.IsConnected() {
		return OriginInfo{}, ErrDirectoryUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.OpTimeout)
	defer cancel()
	e, err := d.origKV.Get(ctx, kvKey(room))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		d.mu.Lock()
		if _, mine := d.leases[room]; !mine {
			delete(d.origins, room)
		}
		d.mu.Unlock()
		return OriginInfo{}, fmt.Errorf("%w: %s", ErrNoOrigin, room)
	}
	if err != nil {
		return OriginInfo{}, unavailable("lookup origin", err)
	}
	var v originValue
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return OriginInfo{}, fmt.Errorf("cluster: origin of %s: %w", room, err)
	}
	o := OriginInfo{Room: room, NodeID: v.NodeID, Since: v.Since}
	d.rememberOrigin(o)
	return o, nil
}

// CachedOrigin returns the last known origin of room without asking NATS.
// It never blocks; running lessons use it while NATS is down.
func (d *Directory) CachedOrigin(room string) (OriginInfo, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, ok := d.origins[room]
	return o, ok
}
