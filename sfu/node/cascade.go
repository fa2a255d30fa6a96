package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/classcast/classcast/sfu/cascade"
	"github.com/classcast/classcast/sfu/cluster"
	"github.com/classcast/classcast/sfu/forward"
	"github.com/classcast/classcast/sfu/room"
	"github.com/classcast/classcast/sfu/track"
)

// DefaultCascadeAddr is the QUIC address `classcast serve` listens on for
// cascade links unless told otherwise.
const DefaultCascadeAddr = "127.0.0.1:7883"

// CascadeConfig turns this node into a member of a cluster (Config.Cascade,
// YAML key "cascade"). Every member is origin of the rooms whose first
// publisher joined it (a lease in the NATS directory) and edge of the
// others: it pulls them once over QUIC from its parent (the static Parent,
// else the room's origin) and fans them out locally. Every node accepts
// every client; see cascade_rooms.go.
type CascadeConfig struct {
	// Enabled turns clustering on. `classcast serve` enables it; a Config
	// built in code has it off unless set.
	Enabled bool `yaml:"enabled"`
	// NATSURL joins an external NATS (comma-separated URLs). Empty starts
	// an embedded NATS server in-process (single node, or the first node).
	NATSURL string `yaml:"nats_url"`
	// NATSDataDir holds the embedded server's JetStream store. It defaults
	// to a temporary directory.
	NATSDataDir string `yaml:"nats_data_dir"`
	// Addr is the UDP address cascade links (QUIC) listen on. It defaults
	// to 127.0.0.1:7883; port 0 picks a free one.
	Addr string `yaml:"addr"`
	// Secret authenticates cluster members (≥ 16 bytes). Required.
	Secret string `yaml:"secret"`
	// Parent is a static parent's cascade address (edge → regional → origin
	// trees): rooms this node does not originate are pulled from it.
	Parent string `yaml:"parent"`
	// Heartbeat is the directory heartbeat; origin leases expire after 5 of
	// them. It defaults to 1s.
	Heartbeat time.Duration `yaml:"heartbeat"`
	// EdgeIdle closes a room on an edge this long after its last local
	// participant and child left. It defaults to 10s.
	EdgeIdle time.Duration `yaml:"edge_idle"`
}

// cascadeRuntime is what startCascade built; closeCascade stops it.
type cascadeRuntime struct {
	n    *Node
	cfg  CascadeConfig
	self string
	addr string // advertised cascade address

	embedded *cluster.EmbeddedServer
	tmpDir   string
	nc       *nats.Conn
	dir      *cluster.Directory
	srv      *cascade.Server
	auth     cascade.Auth

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	rooms map[string]*roomCascade
	links map[string]*cascade.Link // parent links by address
	rev   map[string]*cascade.Link // reverse (uplink) links by address
	// packets maps track SIDs attached by children to their up track, for
	// NACK answers (PacketSource).
	packets map[string]*packetEntry
}

type packetEntry struct {
	up   *forward.UpTrack
	refs int
}

var errCascadeConfig = errors.New("node: cascade")

// startCascade joins the cluster: NATS (embedded unless NATSURL), the
// directory, the cascade server, and a hook on every room.
func (n *Node) startCascade() error {
	c := n.cfg.Cascade
	if !c.Enabled {
		return nil
	}
	if len(c.Secret) < 16 {
		n.closeIngest()
		n.closeRecorder(context.Background())
		_ = n.ln.Close()
		n.engine.Close()
		return fmt.Errorf("%w: cascade secret must be at least 16 bytes", ErrConfig)
	}
	if c.Addr == "" {
		c.Addr = DefaultCascadeAddr
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = time.Second
	}
	if c.EdgeIdle <= 0 {
		c.EdgeIdle = 10 * time.Second
	}
	rt := &cascadeRuntime{n: n, cfg: c, self: n.cfg.NodeID, auth: cascade.Auth{ClusterSecret: []byte(c.Secret)},
		rooms: map[string]*roomCascade{}, links: map[string]*cascade.Link{}, rev: map[string]*cascade.Link{},
		packets: map[string]*packetEntry{}}
	rt.ctx, rt.cancel = context.WithCancel(context.Background())
	if err := rt.start(); err != nil {
		// Release what Start opened so far, as startIngest does.
		rt.close()
		n.closeIngest()
		n.closeRecorder(context.Background())
		_ = n.ln.Close()
		n.engine.Close()
		return err
	}
	n.cascade = rt
	n.rooms.AddHooks(rt.hooks)
	if mux, ok := n.http.Handler.(*http.ServeMux); ok {
		mux.HandleFunc("/api/join-url", rt.joinURL)
		entry := newEntryRouter(rt)
		entry.start()
		mux.Handle(entryPrefix, entry)
	}
	return nil
}

// joinURL answers /api/join-url?room=&region=: the signaling URL of the
// node a participant of that region should join (region, then load; see
// cluster.ChooseEdge). Any node serves any room, so this only optimizes.
// Clients that must survive the death of that node should be given the
// cluster entry URL instead (cascade_entry.go): "entry" in the answer.
func (rt *cascadeRuntime) joinURL(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("room") == "" {
		http.Error(w, "room is required", http.StatusBadRequest)
		return
	}
	n, err := rt.dir.ChooseEdge(r.Context(), q.Get("room"), q.Get("region"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	entry := "ws://" + r.Host + strings.TrimSuffix(entryPrefix, "/")
	if reg := q.Get("region"); reg != "" {
		entry += "/" + url.PathEscape(reg)
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"url": n.SignalingURL, "node": n.ID, "region": n.Region, "entry": entry})
}

func (rt *cascadeRuntime) start() error {
	log := rt.n.log.With("component", "cascade")
	url := rt.cfg.NATSURL
	if url == "" {
		dir := rt.cfg.NATSDataDir
		if dir == "" {
			d, err := os.MkdirTemp("", "classcast-nats-")
			if err != nil {
				return fmt.Errorf("%w: nats data dir: %w", errCascadeConfig, err)
			}
			rt.tmpDir, dir = d, d
		}
		es, err := cluster.StartEmbedded(cluster.EmbeddedOptions{DataDir: dir, ServerName: rt.self})
		if err != nil {
			return err
		}
		rt.embedded, url = es, es.ClientURL()
	}
	nc, err := cluster.Connect(url, rt.self)
	if err != nil {
		return err
	}
	rt.nc = nc
	srv, err := cascade.Listen(cascade.ServerConfig{NodeID: rt.self, Addr: rt.cfg.Addr, Auth: rt.auth,
		Upstream: rt, Packets: rt, Events: cascade.EventHandlerFunc(rt.childEvent), Logger: log})
	if err != nil {
		return err
	}
	rt.srv = srv
	rt.addr = advertised(srv.Addr(), rt.n.cfg.Bind)
	rt.dir, err = cluster.Open(rt.ctx, nc, cluster.Config{
		Self:     cluster.NodeInfo{ID: rt.self, Region: rt.n.cfg.Region, SignalingURL: rt.n.URL(), CascadeAddr: rt.addr},
		LoadFunc: rt.load, HeartbeatInterval: rt.cfg.Heartbeat, Logger: log,
	})
	return err
}

// advertised turns a wildcard listen address into one peers can dial.
func advertised(a net.Addr, bind string) string {
	ua, ok := a.(*net.UDPAddr)
	if !ok {
		return a.String()
	}
	if ua.IP.IsUnspecified() && bind != "" && bind != "0.0.0.0" && bind != "::" {
		return net.JoinHostPort(bind, fmt.Sprint(ua.Port))
	}
	return ua.String()
}

func (rt *cascadeRuntime) load() cluster.Load {
	var l cluster.Load
	for _, r := range rt.n.rooms.List() {
		l.Rooms++
		l.Participants += len(r.Participants())
	}
	return l
}

// closeCascade leaves the cluster: rooms' loops stop (leases released),
// links close, the directory and NATS last.
func (n *Node) closeCascade() {
	if n.cascade != nil {
		n.cascade.close()
	}
}

func (rt *cascadeRuntime) close() {
	rt.cancel()
	rt.wg.Wait()
	rt.mu.Lock()
	links := make([]*cascade.Link, 0, len(rt.links)+len(rt.rev))
	for _, l := range rt.links {
		links = append(links, l)
	}
	for _, l := range rt.rev {
		links = append(links, l)
	}
	rt.links, rt.rev = map[string]*cascade.Link{}, map[string]*cascade.Link{}
	rt.mu.Unlock()
	for _, l := range links {
		l.Close()
	}
	if rt.srv != nil {
		rt.srv.Close()
	}
	if rt.dir != nil {
		rt.dir.Close()
	}
	if rt.nc != nil {
		rt.nc.Close()
	}
	if rt.embedded != nil {
		rt.embedded.Shutdown()
	}
	if rt.tmpDir != "" {
		_ = os.RemoveAll(rt.tmpDir)
	}
}

// parentLink returns the shared link to a parent address, dialing it once.
func (rt *cascadeRuntime) parentLink(addr string) (*cascade.Link, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if l, ok := rt.links[addr]; ok {
		return l, nil
	}
	if rt.ctx.Err() != nil {
		return nil, cascade.ErrClosed
	}
	l, err := cascade.Dial(cascade.LinkConfig{NodeID: rt.self, ParentAddr: addr, Auth: rt.auth,
		Events: cascade.EventHandlerFunc(rt.parentEvent), Logger: rt.n.log.With("component", "cascade")})
	if err != nil {
		return nil, err
	}
	rt.links[addr] = l
	return l, nil
}

// reverseLink returns the media-only link this node dials to a child to
// pull tracks published there (uplink). It joins no room: events keep
// flowing on the child's own link.
func (rt *cascadeRuntime) reverseLink(addr string) (*cascade.Link, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if l, ok := rt.rev[addr]; ok {
		return l, nil
	}
	if rt.ctx.Err() != nil {
		return nil, cascade.ErrClosed
	}
	l, err := cascade.Dial(cascade.LinkConfig{NodeID: rt.self, ParentAddr: addr, Auth: rt.auth,
		Logger: rt.n.log.With("component", "cascade-uplink")})
	if err != nil {
		return nil, err
	}
	rt.rev[addr] = l
	return l, nil
}

// --- Upstream and PacketSource: serving children -----------------------

// TrackInfo implements cascade.Upstream.
func (rt *cascadeRuntime) TrackInfo(roomName, sid string) (track.Info, error) {
	r, ok := rt.n.rooms.Get(roomName)
	if !ok {
		return track.Info{}, fmt.Errorf("%w: room %s", room.ErrNotFound, roomName)
	}
	ct, err := r.FindCascadeTrack(sid)
	if err != nil {
		return track.Info{}, err
	}
	return ct.Up.Info(), nil
}

// AttachLayer implements cascade.Upstream: the child gets the layer's raw
// packets; the publisher's dynacast counts the child's need.
func (rt *cascadeRuntime) AttachLayer(roomName, sid string, layer int, w track.RTPWriter) (cascade.LayerAttachment, error) {
	r, ok := rt.n.rooms.Get(roomName)
	if !ok {
		return nil, fmt.Errorf("%w: room %s", room.ErrNotFound, roomName)
	}
	ct, err := r.FindCascadeTrack(sid)
	if err != nil {
		return nil, err
	}
	detach, err := ct.Up.AttachLayer(layer, w)
	if err != nil {
		return nil, err
	}
	a := &childAttachment{rt: rt, ct: ct, sid: sid, layer: layer, detach: detach}
	a.key = fmt.Sprintf("cascade:%p", a)
	ct.SetNeed(a.key, layer)
	rt.mu.Lock()
	e := rt.packets[sid]
	if e == nil {
		e = &packetEntry{up: ct.Up}
		rt.packets[sid] = e
	}
	e.refs++
	rt.mu.Unlock()
	return a, nil
}

// ReadPacket implements cascade.PacketSource from the shared layer cache.
func (rt *cascadeRuntime) ReadPacket(sid string, layer int, seq uint16, buf []byte) (int, bool) {
	rt.mu.Lock()
	e := rt.packets[sid]
	rt.mu.Unlock()
	if e == nil {
		return 0, false
	}
	n := e.up.PacketAt(layer, seq, buf)
	return n, n > 0
}

type childAttachment struct {
	rt     *cascadeRuntime
	ct     room.CascadeTrack
	sid    string
	key    string
	layer  int
	detach func()
	once   sync.Once
}

func (a *childAttachment) RequestKeyframe() { a.ct.Up.RequestKeyframe(a.layer) }

func (a *childAttachment) Close() {
	a.once.Do(func() {
		a.detach()
		a.ct.RemoveNeed(a.key)
		a.rt.mu.Lock()
		if e := a.rt.packets[a.sid]; e != nil {
			if e.refs--; e.refs <= 0 {
				delete(a.rt.packets, a.sid)
			}
		}
		a.rt.mu.Unlock()
	})
}

// CascadeAddr is the advertised cascade (QUIC) address, "" when the node
// is not in a cluster.
func (n *Node) CascadeAddr() string {
	if n.cascade == nil {
		return ""
	}
	return n.cascade.addr
}
