package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config configures a Directory. Self.ID is required; the rest has defaults.
type Config struct {
	// Self is this node's announcement; Load is overwritten by LoadFunc.
	Self NodeInfo
	// LoadFunc samples this node's load at each heartbeat. Optional.
	LoadFunc func() Load
	// HeartbeatInterval is how often the node announces itself, renews its
	// leases and checks the connection. It defaults to 1s.
	HeartbeatInterval time.Duration
	// NodeTTL is how long a node stays listed without heartbeats. It
	// defaults to 5 × HeartbeatInterval.
	NodeTTL time.Duration
	// LeaseTTL is how long an origin lease outlives its last renewal. It
	// defaults to 5 × HeartbeatInterval.
	LeaseTTL time.Duration
	// OpTimeout bounds each NATS request. It defaults to 2s.
	OpTimeout time.Duration
	// BucketPrefix names the KV buckets (<prefix>_nodes, <prefix>_origins).
	// It defaults to "classcast".
	BucketPrefix string
	// Replicas of the KV buckets (3 on a 3-server cluster). It defaults to 1.
	Replicas int
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (c *Config) fill() error {
	if c.Self.ID == "" {
		return fmt.Errorf("%w: Self.ID is required", errInvalidConfig)
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = time.Second
	}
	if c.NodeTTL <= 0 {
		c.NodeTTL = 5 * c.HeartbeatInterval
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 5 * c.HeartbeatInterval
	}
	if c.OpTimeout <= 0 {
		c.OpTimeout = 2 * time.Second
	}
	if c.BucketPrefix == "" {
		c.BucketPrefix = "classcast"
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// NodeEvent is a registry change seen by Watch.
type NodeEvent struct {
	Node    NodeInfo
	Removed bool // left, or stopped heartbeating for NodeTTL
}

type nodeSeen struct {
	info NodeInfo
	seen time.Time // local receive time, so clock skew between nodes is moot
}

// Directory is this node's view of the cluster: it announces the node,
// keeps a cached copy of the registry, and holds origin leases.
//
// Reads of cached state (Nodes, CachedOrigin) never block and keep working
// while NATS is down, so running lessons are not affected by an outage.
type Directory struct {
	cfg     Config
	log     *slog.Logger
	nc      *nats.Conn
	js      jetstream.JetStream
	nodesKV jetstream.KeyValue
	origKV  jetstream.KeyValue

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// synced is true while the node cache reflects a live watch.
	synced atomic.Bool
	// nodes is a copy-on-write snapshot: map[id]nodeSeen.
	nodes atomic.Pointer[map[string]nodeSeen]

	mu sync.Mutex
	// watchers get node events (buffered, dropped when full: a slow
	// watcher must not stall the directory).
	watchers map[chan NodeEvent]struct{}
	leases   map[string]*Lease
	origins  map[string]OriginInfo // last known origin per room
}

// Open creates the buckets if needed and starts the directory actor.
func Open(ctx context.Context, nc *nats.Conn, cfg Config) (*Directory, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	if !nc.IsConnected() {
		return nil, ErrDirectoryUnavailable
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: jetstream: %w", err)
	}
	d := &Directory{
		cfg: cfg, log: cfg.Logger.With("component", "cluster", "node", cfg.Self.ID),
		nc: nc, js: js, done: make(chan struct{}),
		watchers: map[chan NodeEvent]struct{}{}, leases: map[string]*Lease{},
		origins: map[string]OriginInfo{},
	}
	empty := map[string]nodeSeen{}
	d.nodes.Store(&empty)
	if err := d.ensureBuckets(ctx); err != nil {
		return nil, err
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.heartbeat()
	go d.run()
	return d, nil
}

// ensureBuckets creates the KV buckets if missing. It runs at Open and after
// every reconnect: a restarted NATS has lost the in-memory nodes bucket.
// Handles stay valid across re-creation (they are bucket names).
func (d *Directory) ensureBuckets(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 4*d.cfg.OpTimeout)
	defer cancel()
	nodesKV, err := d.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: d.cfg.BucketPrefix + "_nodes", History: 1, TTL: d.cfg.NodeTTL, Replicas: d.cfg.Replicas,
		Storage: jetstream.MemoryStorage, // heartbeats are ephemeral
	})
	if err != nil {
		return unavailable("create nodes bucket", err)
	}
	// Origins are on disk: a restarted NATS must remember who holds a room.
	origKV, err := d.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: d.cfg.BucketPrefix + "_origins", History: 1, TTL: d.cfg.LeaseTTL, Replicas: d.cfg.Replicas,
		Storage: jetstream.FileStorage,
	})
	if err != nil {
		return unavailable("create origins bucket", err)
	}
	if d.nodesKV == nil {
		d.nodesKV, d.origKV = nodesKV, origKV
	}
	return nil
}

// Close releases this node's leases, removes it from the registry (best
// effort) and stops the actor. It waits for the actor to end.
func (d *Directory) Close() {
	d.cancel()
	<-d.done
}

func (d *Directory) run() {
	defer close(d.done)
	reason := d.runInner()
	d.log.Info("cluster directory closed", "reason", reason)
}

func (d *Directory) runInner() error {
	tick := time.NewTicker(d.cfg.HeartbeatInterval)
	defer tick.Stop()
	var w jetstream.KeyWatcher
	var updates <-chan jetstream.KeyValueEntry
	pending := map[string]nodeSeen{} // filled during a (re)sync
	stopWatch := func() {
		if w != nil {
			_ = w.Stop()
		}
		w, updates = nil, nil
		d.synced.Store(false)
	}
	defer stopWatch()
	wasConnected := true
	for {
		if w == nil && d.nc.IsConnected() && d.ensureBuckets(d.ctx) == nil {
			// A fresh watch replays every live key, then a nil entry: the
			// cache is rebuilt from scratch after each reconnect.
			var err error
			w, err = d.nodesKV.WatchAll(d.ctx)
			if err == nil {
				updates = w.Updates()
				clear(pending)
			} else {
				w = nil
			}
		}
		select {
		case <-d.ctx.Done():
			d.shutdown()
			return ErrClosed
		case e, ok := <-updates:
			if !ok {
				stopWatch()
				continue
			}
			d.applyWatch(e, pending)
		case <-tick.C:
			connected := d.nc.IsConnected()
			if connected && !wasConnected {
				d.log.Info("NATS reachable again, resyncing directory")
				stopWatch()
			}
			if !connected && wasConnected {
				d.log.Warn("NATS unreachable: serving cached directory, refusing new joins")
			}
			wasConnected = connected
			if connected {
				d.heartbeat()
				d.renewLeases()
				d.prune()
			}
		}
	}
}

func (d *Directory) applyWatch(e jetstream.KeyValueEntry, pending map[string]nodeSeen) {
	if e == nil { // initial replay done
		snap := make(map[string]nodeSeen, len(pending))
		for k, v := range pending {
			snap[k] = v
		}
		old := *d.nodes.Load()
		d.nodes.Store(&snap)
		d.synced.Store(true)
		d.diff(old, snap)
		clear(pending)
		return
	}
	if !d.synced.Load() {
		if e.Operation() == jetstream.KeyValuePut {
			var n NodeInfo
			if json.Unmarshal(e.Value(), &n) == nil {
				pending[n.ID] = nodeSeen{info: n, seen: time.Now()}
			}
		} else {
			delete(pending, fromKey(e.Key()))
		}
		return
	}
	old := *d.nodes.Load()
	snap := make(map[string]nodeSeen, len(old)+1)
	for k, v := range old {
		snap[k] = v
	}
	if e.Operation() == jetstream.KeyValuePut {
		var n NodeInfo
		if json.Unmarshal(e.Value(), &n) != nil {
			return
		}
		snap[n.ID] = nodeSeen{info: n, seen: time.Now()}
	} else {
		delete(snap, fromKey(e.Key()))
	}
	d.nodes.Store(&snap)
	d.diff(old, snap)
}

// prune drops nodes whose last heartbeat we saw more than NodeTTL ago. The
// bucket's TTL removes them server-side too, but without a marker a watcher
// is not told, so each node ages its own cache.
func (d *Directory) prune() {
	if !d.synced.Load() {
		return
	}
	old := *d.nodes.Load()
	cut := time.Now().Add(-d.cfg.NodeTTL)
	var snap map[string]nodeSeen
	for id, n := range old {
		if id == d.cfg.Self.ID || n.seen.After(cut) {
			continue
		}
		if snap == nil {
			snap = make(map[string]nodeSeen, len(old))
			for k, v := range old {
				snap[k] = v
			}
		}
		delete(snap, id)
	}
	if snap != nil {
		d.nodes.Store(&snap)
		d.diff(old, snap)
	}
}

func (d *Directory) diff(old, cur map[string]nodeSeen) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.watchers) == 0 {
		return
	}
	send := func(ev NodeEvent) {
		for ch := range d.watchers {
			select {
			case ch <- ev:
			default:
			}
		}
	}
	for id, n := range cur {
		if o, ok := old[id]; !ok || o.info != n.info {
			send(NodeEvent{Node: n.info})
		}
	}
	for id, n := range old {
		if _, ok := cur[id]; !ok {
			send(NodeEvent{Node: n.info, Removed: true})
		}
	}
}

func (d *Directory) heartbeat() {
	self := d.cfg.Self
	if d.cfg.LoadFunc != nil {
		self.Load = d.cfg.LoadFunc()
	}
	b, err := json.Marshal(self)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(d.ctx, d.cfg.OpTimeout)
	defer cancel()
	if _, err := d.nodesKV.Put(ctx, kvKey(self.ID), b); err != nil {
		d.log.Debug("heartbeat failed", "err", err)
	}
}

func (d *Directory) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.OpTimeout)
	defer cancel()
	d.mu.Lock()
	leases := make([]*Lease, 0, len(d.leases))
	for _, l := range d.leases {
		leases = append(leases, l)
	}
	d.mu.Unlock()
	if !d.nc.IsConnected() {
		return
	}
	for _, l := range leases {
		_ = l.release(ctx)
	}
	_ = d.nodesKV.Delete(ctx, kvKey(d.cfg.Self.ID))
}

// Nodes returns the cached registry, sorted by id. It never blocks.
func (d *Directory) Nodes() []NodeInfo {
	m := *d.nodes.Load()
	out := make([]NodeInfo, 0, len(m))
	for _, n := range m {
		out = append(out, n.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Available reports whether NATS is reachable and the cache is live.
func (d *Directory) Available() bool {
	return d.nc.IsConnected() && d.synced.Load()
}

// Watch returns registry changes until ctx ends. Events are dropped if the
// channel (capacity 64) is full.
func (d *Directory) Watch(ctx context.Context) <-chan NodeEvent {
	ch := make(chan NodeEvent, 64)
	d.mu.Lock()
	d.watchers[ch] = struct{}{}
	d.mu.Unlock()
	context.AfterFunc(ctx, func() {
		d.mu.Lock()
		delete(d.watchers, ch)
		d.mu.Unlock()
	})
	return ch
}

// ChooseEdge picks the node a participant joining room should use (see the
// package function ChooseEdge). New joins need a live directory: it returns
// ErrDirectoryUnavailable while NATS is down rather than sending someone
// to a node that may be gone.
func (d *Directory) ChooseEdge(ctx context.Context, room, region string) (NodeInfo, error) {
	if !d.Available() {
		return NodeInfo{}, ErrDirectoryUnavailable
	}
	req := EdgeRequest{Region: region}
	o, err := d.Origin(ctx, room)
	switch {
	case err == nil:
		req.OriginID = o.NodeID
	case !errors.Is(err, ErrNoOrigin):
		return NodeInfo{}, err
	}
	return ChooseEdge(d.Nodes(), req)
}

// kvKey maps arbitrary room names and node ids to the KV key alphabet.
func kvKey(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func fromKey(k string) string {
	b, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil {
		return k
	}
	return string(b)
}

// unavailable wraps NATS transport failures as ErrDirectoryUnavailable and
// leaves semantic errors (key exists, wrong revision) as they are.
func unavailable(what string, err error) error {
	switch {
	case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrNoResponders), errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrDisconnected), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, jetstream.ErrJetStreamNotEnabled):
		return fmt.Errorf("%w: %s: %w", ErrDirectoryUnavailable, what, err)
	}
	return fmt.Errorf("cluster: %s: %w", what, err)
}
