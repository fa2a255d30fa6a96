package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/classcast/classcast/sfu/cluster"
	"github.com/classcast/classcast/signaling"
)

// The cluster entry: the URL to hand clients when a room spans nodes is
// ws://ANY-NODE/cluster (or /cluster/<region> for participants of a region),
// not a node's own URL. LiveKit clients append /rtc and, when their
// connection drops, retry exactly that URL (livekit-client's region
// failover exists only for LiveKit Cloud hosts). A node URL handed out
// directly dies with its node; the entry path instead picks a live node
// from the directory on every connect (cluster.ChooseEdge: region, origin,
// load) and proxies the signaling WebSocket to that node's own /rtc. Media
// does not pass through the entry: the chosen node's ICE candidates are its
// own, so clients send media straight to it.
//
// When the chosen node dies, the proxied WebSocket breaks (at once on a
// crash the kernel reports, after the directory drops the node — no
// heartbeat for NodeTTL — otherwise); the client resumes through the same
// URL, the entry skips the dead node (dial failure, or gone from the
// registry), the live node it picks does not know the session and answers
// "rejoin", and the client joins there afresh. Behind a load balancer or a
// DNS name over several nodes, the entry itself has no single point of
// failure: any node routes the same way.

const (
	entryPrefix = "/cluster/"
	// entryDialTimeout bounds the TCP connect to a chosen node: a dead
	// host (no RST) must not hold a reconnecting client for long.
	entryDialTimeout = 2 * time.Second
	// entryRecent is how long a participant's last node is remembered so
	// a resume (reconnect=1) goes back to the node holding its session.
	entryRecent = 2 * time.Minute
	entryPrune  = 10 * time.Second
)

var (
	errEntryNoNode  = errors.New("node: cluster entry: no live node for this join")
	errEntryClosing = errors.New("node: cluster entry: node closing")
)

// entryRouter serves /cluster/... on every cluster member. Its run loop
// (owned by cascadeRuntime.wg) cuts proxied sessions of nodes that left the
// registry and ages its memory.
type entryRouter struct {
	rt    *cascadeRuntime
	keys  signaling.Keys
	log   *slog.Logger
	proxy *httputil.ReverseProxy
	base  *http.Transport

	mu sync.Mutex
	// live proxied connections; cancel cuts one.
	conns map[*entryRoute]context.CancelFunc
	// suspect nodes failed a dial; skipped until the time given.
	suspect map[string]time.Time
	// recent maps room\x00identity to the node last serving it.
	recent map[string]recentRoute
}

type recentRoute struct {
	node string
	live int
	at   time.Time // when the last connection to it ended
}

// entryRoute is one request's routing state, shared between the handler
// and the transport through the request context.
type entryRoute struct {
	room, identity, region string
	resume                 bool

	mu     sync.Mutex
	chosen string
}

func (e *entryRoute) node() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.chosen
}

type entryRouteKey struct{}

func newEntryRouter(rt *cascadeRuntime) *entryRouter {
	e := &entryRouter{rt: rt, keys: signaling.Keys(rt.n.cfg.Keys), log: rt.n.log.With("component", "cluster-entry"),
		conns: map[*entryRoute]context.CancelFunc{}, suspect: map[string]time.Time{}, recent: map[string]recentRoute{}}
	base := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: entryDialTimeout}).DialContext,
		TLSHandshakeTimeout: entryDialTimeout,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	e.base = base
	e.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetXForwarded()
			// The transport puts the chosen node's host here.
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.Host = "http", "cluster-entry.invalid", ""
		},
		Transport:    &entryTransport{e: e, base: base},
		ErrorHandler: e.proxyError,
	}
	return e
}

// start launches the run loop; rt.close waits for it.
func (e *entryRouter) start() {
	events := e.rt.dir.Watch(e.rt.ctx)
	e.rt.wg.Add(1)
	go e.run(events)
}

func (e *entryRouter) run(events <-chan cluster.NodeEvent) {
	defer e.rt.wg.Done()
	t := time.NewTicker(entryPrune)
	defer t.Stop()
	for {
		select {
		case <-e.rt.ctx.Done():
			n := e.cutWhere(func(*entryRoute) bool { return true })
			e.base.CloseIdleConnections()
			e.log.Debug("cluster entry closed", "reason", "node closing", "cut", n)
			return
		case ev := <-events:
			if !ev.Removed {
				continue
			}
			if n := e.cutWhere(func(r *entryRoute) bool { return r.node() == ev.Node.ID }); n > 0 {
				e.log.Info("node left the cluster: cutting its proxied sessions so clients reconnect",
					"node", ev.Node.ID, "sessions", n)
			}
		case now := <-t.C:
			e.prune(now)
		}
	}
}

func (e *entryRouter) cutWhere(match func(*entryRoute) bool) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for r, cancel := range e.conns {
		if match(r) {
			cancel()
			n++
		}
	}
	return n
}

func (e *entryRouter) prune(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, until := range e.suspect {
		if now.After(until) {
			delete(e.suspect, id)
		}
	}
	for k, r := range e.recent {
		if r.live == 0 && now.Sub(r.at) > entryRecent {
			delete(e.recent, k)
		}
	}
}

// ServeHTTP handles /cluster/rtc, /cluster/<region>/rtc and their
// /validate and /v1 siblings.
func (e *entryRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	region, sub, ok := parseEntryPath(r.URL.Path)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	switch {
	case !ok:
		http.NotFound(w, r)
		return
	case sub == "rtc/v1" || strings.HasPrefix(sub, "rtc/v1/"):
		// As on /rtc: no single-PC mode, livekit-client falls back to v0.
		http.Error(w, "single peer connection mode (v1) is not supported; use /rtc", http.StatusNotFound)
		return
	case sub != "rtc" && sub != "rtc/validate":
		http.NotFound(w, r)
		return
	case r.Method == http.MethodOptions:
		return
	}
	if e.rt.ctx.Err() != nil {
		http.Error(w, errEntryClosing.Error(), http.StatusServiceUnavailable)
		return
	}
	route := &entryRoute{region: region, resume: r.URL.Query().Get("reconnect") == "1"}
	// The chosen node verifies the token again and answers errors in its
	// own words; here the grants only steer the choice.
	if g, err := e.keys.Verify(entryToken(r)); err == nil && g.Video != nil {
		route.room, route.identity = g.Video.Room, g.Identity
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	e.mu.Lock()
	e.conns[route] = cancel
	e.mu.Unlock()
	defer e.finish(route)
	out := r.WithContext(context.WithValue(ctx, entryRouteKey{}, route))
	u := *r.URL
	u.Path, u.RawPath = "/"+sub, ""
	out.URL = &u
	e.proxy.ServeHTTP(w, out)
}

// finish forgets a proxied connection and remembers where it went.
func (e *entryRouter) finish(route *entryRoute) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.conns, route)
	node := route.node()
	if node == "" || route.identity == "" {
		return
	}
	k := route.room + "\x00" + route.identity
	if rr, ok := e.recent[k]; ok && rr.node == node {
		rr.live--
		rr.at = time.Now()
		e.recent[k] = rr
	}
}

// chosen records a successful connection to node.
func (e *entryRouter) chosen(route *entryRoute, node string) {
	route.mu.Lock()
	route.chosen = node
	route.mu.Unlock()
	if route.identity == "" {
		return
	}
	k := route.room + "\x00" + route.identity
	e.mu.Lock()
	rr := e.recent[k]
	if rr.node != node {
		rr = recentRoute{node: node}
	}
	rr.live++
	rr.at = time.Now()
	e.recent[k] = rr
	e.mu.Unlock()
}

func (e *entryRouter) markSuspect(id string) {
	e.mu.Lock()
	e.suspect[id] = time.Now().Add(5 * e.rt.cfg.Heartbeat)
	e.mu.Unlock()
}

// pick chooses the node for route among those not excluded: a resume goes
// back to the node that served the participant; otherwise (or if that one
// is gone) cluster.ChooseEdge decides. Suspects are tried only when
// nothing else is left.
func (e *entryRouter) pick(ctx context.Context, route *entryRoute, exclude map[string]bool) (cluster.NodeInfo, error) {
	e.awaitDirectory(ctx)
	all := e.rt.dir.Nodes()
	now := time.Now()
	e.mu.Lock()
	var healthy, fallback []cluster.NodeInfo
	for _, n := range all {
		if exclude[n.ID] || n.SignalingURL == "" {
			continue
		}
		fallback = append(fallback, n)
		if until, bad := e.suspect[n.ID]; !bad || now.After(until) {
			healthy = append(healthy, n)
		}
	}
	prefer := ""
	if rr, ok := e.recent[route.room+"\x00"+route.identity]; ok && route.resume && route.identity != "" &&
		(rr.live > 0 || now.Sub(rr.at) < entryRecent) {
		prefer = rr.node
	}
	e.mu.Unlock()
	nodes := healthy
	if len(nodes) == 0 {
		nodes = fallback
	}
	for _, n := range nodes {
		if n.ID == prefer {
			return n, nil
		}
	}
	req := cluster.EdgeRequest{Region: route.region}
	if route.room != "" {
		if o, err := e.rt.dir.Origin(ctx, route.room); err == nil {
			req.OriginID = o.NodeID
		} else if o, ok := e.rt.dir.CachedOrigin(route.room); ok {
			req.OriginID = o.NodeID
		}
	}
	n, err := cluster.ChooseEdge(nodes, req)
	if err != nil && !exclude[e.rt.self] {
		// Nothing known fits (directory still empty, or every node
		// draining or busy): this node is alive and serves any room.
		return cluster.NodeInfo{ID: e.rt.self, SignalingURL: e.rt.n.URL()}, nil
	}
	if err != nil {
		return cluster.NodeInfo{}, fmt.Errorf("%w: %w", errEntryNoNode, err)
	}
	return n, nil
}

// awaitDirectory gives a node that has just started (or just got NATS
// back) a moment to load the registry before it routes anyone.
func (e *entryRouter) awaitDirectory(ctx context.Context) {
	if e.rt.dir.Available() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, entryDialTimeout)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !e.rt.dir.Available() {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (e *entryRouter) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // client gone or session cut
	}
	e.log.Info("cluster entry could not reach a node", "path", r.URL.Path, "err", err)
	http.Error(w, err.Error(), http.StatusServiceUnavailable)
}

// entryTransport sends the proxied request to a chosen node, moving on to
// the next choice when a node cannot be dialed (it died, and the directory
// does not know yet).
type entryTransport struct {
	e    *entryRouter
	base http.RoundTripper
}

func (t *entryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	route, _ := req.Context().Value(entryRouteKey{}).(*entryRoute)
	if route == nil {
		return nil, errEntryNoNode
	}
	exclude := map[string]bool{}
	for {
		n, err := t.e.pick(req.Context(), route, exclude)
		if err != nil {
			return nil, err
		}
		u, err := nodeHTTPURL(n.SignalingURL)
		if err != nil {
			exclude[n.ID] = true
			continue
		}
		out := req.Clone(req.Context())
		out.URL.Scheme, out.URL.Host, out.Host = u.Scheme, u.Host, ""
		res, err := t.base.RoundTrip(out)
		var op *net.OpError
		if err != nil && errors.As(err, &op) && op.Op == "dial" && req.Context().Err() == nil {
			t.e.log.Info("node unreachable, routing elsewhere", "node", n.ID, "err", err)
			t.e.markSuspect(n.ID)
			exclude[n.ID] = true
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("node: cluster entry: %s: %w", n.ID, err)
		}
		t.e.chosen(route, n.ID)
		return res, nil
	}
}

// nodeHTTPURL maps a node's signaling URL (ws/wss/http/https) to HTTP.
func nodeHTTPURL(signalingURL string) (*url.URL, error) {
	u, err := url.Parse(signalingURL)
	if err != nil {
		return nil, fmt.Errorf("node: signaling url %q: %w", signalingURL, err)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("%w: signaling url scheme %q", errCascadeConfig, u.Scheme)
	}
	return u, nil
}

// parseEntryPath splits /cluster/[<region>/]rtc[/...] into the region and
// the node-local path without its leading slash.
func parseEntryPath(p string) (region, sub string, ok bool) {
	rest, ok := strings.CutPrefix(p, entryPrefix)
	if !ok {
		return "", "", false
	}
	if rest == "rtc" || strings.HasPrefix(rest, "rtc/") {
		return "", rest, true
	}
	region, sub, ok = strings.Cut(rest, "/")
	if !ok || region == "" || (sub != "rtc" && !strings.HasPrefix(sub, "rtc/")) {
		return "", "", false
	}
	if r, err := url.PathUnescape(region); err == nil {
		region = r
	}
	return region, sub, true
}

// entryToken finds the access token as the signaling server does.
func entryToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	return r.URL.Query().Get("access_token")
}
