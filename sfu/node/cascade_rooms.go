package node

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"github.com/classcast/classcast/sfu/cascade"
	"github.com/classcast/classcast/sfu/cluster"
	"github.com/classcast/classcast/sfu/room"
	"github.com/classcast/classcast/sfu/track"
)

// How a room spans nodes. Every node accepts every client on its own /rtc;
// clients that must survive their node's death are given the cluster entry
// URL instead (ws://any-node/cluster[/<region>], cascade_entry.go), which
// proxies signaling to a live node chosen from the directory on every
// (re)connect — LiveKit clients retry the URL they were given, and browsers
// do not follow redirects on a WebSocket handshake. The web app can also
// ask /api/join-url for the best node. A room's first publisher-capable joiner makes its node the origin
// (lease in the directory). Any other node that has participants of the
// room, or a cascade child asking for it, is an edge: it pulls the room
// from its parent (the static --parent, else the origin) over one shared
// QUIC link and shows the parent's participants as mirrors. Participants
// flow both ways on the tree (each node announces everything it knows to
// every neighbor except the one it learnt it from), as do data packets;
// media is pulled hop by hop on demand: from the parent for mirrors learnt
// from it, over a reverse link to the child for mirrors learnt from a
// child (a classroom on stage, or watched by the master).

// Cascade event kinds beyond the participant/data kinds of the link.
const (
	// evSync asks the other end for its full room state (after a connect).
	evSync cascade.EventKind = "sync"
	// evSynced ends a full state: every participant SID still valid.
	evSynced cascade.EventKind = "synced"
)

const (
	cascadeTick = 200 * time.Millisecond
	// childGone: mirrors learnt from a child that left the room (or died)
	// are removed after this; a reconnecting child resends them anyway.
	childGone = 2 * time.Second
	// originRecheck is how often an edge whose parent link is down asks
	// the directory whether the room moved to another origin.
	originRecheck = time.Second
)

// wireParticipant is the payload of a participant event.
type wireParticipant struct {
	Info   []byte                `json:"info"` // livekit.ParticipantInfo, protobuf
	Tracks map[string]track.Info `json:"tracks"`
	// Addr is the sender's cascade address: a node pulling a track learnt
	// from a child dials it there (uplink).
	Addr string `json:"addr"`
}

type wireLeft struct {
	Identity string `json:"identity"`
	SID      string `json:"sid"`
}

type wireSynced struct {
	SIDs []string `json:"sids"`
}

type roleKind uint8

const (
	roleNone roleKind = iota
	roleOrigin
	roleEdge
)

// addressed is an event for one neighbor ("" parent id means the parent).
type addressed struct {
	to     string
	parent bool
	ev     cascade.Event
}

type inbound struct {
	from       string
	fromParent bool
	ev         cascade.Event
}

type sentState struct {
	version uint32
	tracks  int
}

// roomCascade is one room's cluster actor: its run goroutine owns the role,
// lease and parent link; the room loop owns mirrors and announcement state
// (closures passed to Room.Do).
type roomCascade struct {
	rt   *cascadeRuntime
	r    *room.Room
	name string
	log  *slog.Logger

	inbox  chan inbound
	data   chan cascade.Event // local data packets to fan out
	kick   chan struct{}
	closed chan struct{}
	done   chan struct{}

	// Owned by run.
	role      roleKind
	lease     *cluster.Lease
	upAddr    string
	up        *cascade.Link
	parentID  string
	upGen     uint64
	lastCheck time.Time
	idleSince time.Time
	refused   bool

	// Owned by the room loop.
	mirrors  map[string]*room.Mirror // by identity
	sent     map[string]map[string]sentState
	resync   map[string]bool
	lastSeen map[string]time.Time // children, when last joined
}

// hooks is the room.Manager hook factory: one actor per room.
func (rt *cascadeRuntime) hooks(r *room.Room) room.Hooks {
	rc := &roomCascade{rt: rt, r: r, name: r.Name(), log: rt.n.log.With("component", "cascade", "room", r.Name()),
		inbox: make(chan inbound, 1024), data: make(chan cascade.Event, 256), kick: make(chan struct{}, 1),
		closed: make(chan struct{}), done: make(chan struct{}),
		mirrors: map[string]*room.Mirror{}, sent: map[string]map[string]sentState{},
		resync: map[string]bool{}, lastSeen: map[string]time.Time{}}
	rt.mu.Lock()
	if rt.ctx.Err() != nil {
		rt.mu.Unlock()
		return nil
	}
	rt.rooms[rc.name] = rc
	rt.wg.Add(1)
	rt.mu.Unlock()
	go rc.run()
	return rc
}

// roomFor finds a room's actor; with create, a child asking for a room
// this node does not have yet creates it (mid-tier edges).
func (rt *cascadeRuntime) roomFor(name string, create bool) *roomCascade {
	rt.mu.Lock()
	rc := rt.rooms[name]
	rt.mu.Unlock()
	if rc != nil || !create {
		return rc
	}
	if _, err := rt.n.rooms.GetOrCreate(name); err != nil {
		return nil
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.rooms[name]
}

func (rt *cascadeRuntime) parentEvent(from string, ev cascade.Event) {
	if rc := rt.roomFor(ev.Room, false); rc != nil {
		rc.deliver(inbound{from: from, fromParent: true, ev: ev})
	}
}

func (rt *cascadeRuntime) childEvent(from string, ev cascade.Event) {
	if rc := rt.roomFor(ev.Room, ev.Kind == evSync); rc != nil {
		rc.deliver(inbound{from: from, ev: ev})
	}
}

// deliver queues an event in order; it never blocks the link's goroutine.
func (rc *roomCascade) deliver(in inbound) {
	select {
	case rc.inbox <- in:
	default:
		rc.log.Warn("cascade inbox full, event dropped", "kind", in.ev.Kind)
	}
}

// --- room.Hooks: called on the room loop --------------------------------

func (rc *roomCascade) poke() {
	select {
	case rc.kick <- struct{}{}:
	default:
	}
}

// Joined implements room.Hooks.
func (rc *roomCascade) Joined(*room.Room, *room.Participant) { rc.poke() }

// Left implements room.Hooks.
func (rc *roomCascade) Left(*room.Room, *room.Participant) { rc.poke() }

// TrackPublished implements room.Hooks.
func (rc *roomCascade) TrackPublished(*room.Room, *room.Participant, *livekit.TrackInfo) { rc.poke() }

// MaySubscribe implements room.Hooks.
func (rc *roomCascade) MaySubscribe(_, _ *room.Participant, _ *livekit.TrackInfo) bool { return true }

// Data implements room.Hooks: a local participant's packet also goes to
// every neighbor node.
func (rc *roomCascade) Data(_ *room.Room, from *room.Participant, dp *livekit.DataPacket) bool {
	if from == nil {
		return false
	}
	if m, ok := rc.mirrors[from.Identity()]; ok && m.Participant() == from {
		return false
	}
	b, err := proto.Marshal(dp)
	if err != nil {
		return false
	}
	select {
	case rc.data <- cascade.Event{Room: rc.name, Kind: cascade.EventData, Participant: from.SID(), Payload: b}:
	default:
	}
	return false
}

// Closed implements room.Hooks: mirrors stop pulling.
func (rc *roomCascade) Closed(*room.Room) {
	for id, m := range rc.mirrors {
		m.CloseOnLoop("room closed")
		delete(rc.mirrors, id)
	}
	close(rc.closed)
}

// --- the actor -------------------------------------------------------

func (rc *roomCascade) run() {
	defer rc.rt.wg.Done()
	defer close(rc.done)
	reason := rc.runInner()
	rc.cleanup()
	rc.log.Debug("room cascade closed", "reason", reason)
}

func (rc *roomCascade) runInner() string {
	t := time.NewTicker(cascadeTick)
	defer t.Stop()
	for {
		select {
		case <-rc.rt.ctx.Done():
			return "node closing"
		case <-rc.closed:
			return "room closed"
		case in := <-rc.inbox:
			batch := []inbound{in}
			for len(batch) < 64 {
				select {
				case more := <-rc.inbox:
					batch = append(batch, more)
					continue
				default:
				}
				break
			}
			rc.apply(batch)
		case ev := <-rc.data:
			rc.send(rc.fanout(ev, ""))
		case <-rc.kick:
			rc.step(time.Now())
		case now := <-t.C:
			rc.step(now)
		}
	}
}

func (rc *roomCascade) cleanup() {
	if rc.lease != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = rc.lease.Release(ctx)
		cancel()
	}
	if rc.up != nil {
		rc.up.LeaveRoom(rc.name)
	}
	rc.rt.mu.Lock()
	if rc.rt.rooms[rc.name] == rc {
		delete(rc.rt.rooms, rc.name)
	}
	rc.rt.mu.Unlock()
	if rc.rt.ctx.Err() != nil {
		// Node closing: the room manager closes the room; mirrors' feeds
		// end with the links.
		return
	}
}

// neighbors lists the nodes this room talks to now.
func (rc *roomCascade) neighbors() (parent string, children []string) {
	if rc.up != nil && rc.up.Connected() {
		parent = rc.up.ParentID()
	}
	return parent, rc.rt.srv.JoinedChildren(rc.name)
}

// fanout addresses ev to every neighbor except the one it came from.
func (rc *roomCascade) fanout(ev cascade.Event, except string) []addressed {
	parent, children := rc.neighbors()
	var out []addressed
	if parent != "" && parent != except {
		out = append(out, addressed{to: parent, parent: true, ev: ev})
	}
	for _, c := range children {
		if c != except {
			out = append(out, addressed{to: c, ev: ev})
		}
	}
	return out
}

func (rc *roomCascade) send(out []addressed) {
	for _, a := range out {
		var err error
		if a.parent {
			if rc.up != nil {
				err = rc.up.SendEvent(a.ev)
			}
		} else {
			err = rc.rt.srv.SendTo(a.to, a.ev)
		}
		if err != nil {
			rc.log.Debug("cascade event not sent", "to", a.to, "kind", a.ev.Kind, "err", err)
		}
	}
}

// localState is what role resolution needs from the room loop.
type localState struct {
	local     int  // participants connected here (not mirrors)
	publisher bool // one of them may publish
}

// step is the periodic work: role, parent link, announcements, needs.
func (rc *roomCascade) step(now time.Time) {
	parent, children := rc.neighbors()
	if rc.up != nil && rc.up.Connected() && rc.up.Generation() != rc.upGen {
		rc.upGen = rc.up.Generation()
		_ = rc.up.SendEvent(cascade.Event{Room: rc.name, Kind: evSync})
		parentNow := parent
		_ = rc.r.Do(func() { rc.resync[parentNow] = true; delete(rc.sent, parentNow) })
	}
	var st localState
	var out []addressed
	err := rc.r.Do(func() { st, out = rc.syncOnLoop(now, parent, children) })
	if err != nil {
		return
	}
	rc.send(out)
	rc.resolve(now, st, len(children) > 0)
	if rc.role != roleOrigin && st.local == 0 && len(children) == 0 {
		if rc.idleSince.IsZero() {
			rc.idleSince = now
		} else if now.Sub(rc.idleSince) > rc.rt.cfg.EdgeIdle {
			rc.log.Info("closing edge room: no local participant or child left")
			rc.r.CloseAsync("cascade edge idle")
		}
	} else {
		rc.idleSince = time.Time{}
	}
}

// resolve decides origin or edge and keeps the parent link right.
func (rc *roomCascade) resolve(now time.Time, st localState, haveChildren bool) {
	if rc.role == roleOrigin {
		select {
		case <-rc.lease.Lost():
			rc.log.Warn("origin lease lost; following the new origin")
			rc.role, rc.lease = roleNone, nil
		default:
			return
		}
	}
	if st.local == 0 && !haveChildren && rc.role == roleNone {
		return // nobody here yet
	}
	if rc.role == roleEdge && rc.up != nil && (rc.up.Connected() || now.Sub(rc.lastCheck) < originRecheck) {
		return
	}
	if rc.role != roleNone && now.Sub(rc.lastCheck) < originRecheck {
		return
	}
	rc.lastCheck = now
	dir := rc.rt.dir
	ctx, cancel := context.WithTimeout(rc.rt.ctx, 2*time.Second)
	defer cancel()
	o, err := dir.Origin(ctx, rc.name)
	switch {
	case err == nil && o.NodeID == rc.rt.self, errors.Is(err, cluster.ErrNoOrigin):
		if err != nil && !st.publisher {
			return // no origin yet: wait for the teacher to join somewhere
		}
		rc.claim(ctx)
	case err == nil:
		rc.follow(o.NodeID)
	case errors.Is(err, cluster.ErrDirectoryUnavailable):
		if c, ok := dir.CachedOrigin(rc.name); ok && c.NodeID != rc.rt.self {
			rc.follow(c.NodeID)
			return
		}
		if rc.role == roleNone && st.local > 0 && !rc.refused {
			rc.refused = true
			rc.log.Error("cluster directory unavailable and the origin of the room is unknown: refusing the room")
			rc.r.CloseAsync("cluster directory unavailable: origin of room " + rc.name + " unknown")
		}
	default:
		rc.log.Warn("origin lookup failed", "err", err)
	}
}

func (rc *roomCascade) claim(ctx context.Context) {
	l, err := rc.rt.dir.ClaimOrigin(ctx, rc.name)
	var taken *cluster.OriginTakenError
	switch {
	case err == nil:
		if rc.role != roleOrigin {
			rc.log.Info("this node is the room's origin")
		}
		rc.role, rc.lease = roleOrigin, l
		rc.setParent("", "")
	case errors.As(err, &taken):
		rc.follow(taken.Holder)
	default:
		rc.log.Warn("origin claim failed", "err", err)
	}
}

// follow makes this node an edge of the room whose origin is originID.
func (rc *roomCascade) follow(originID string) {
	addr := rc.rt.cfg.Parent
	if addr == "" {
		for _, n := range rc.rt.dir.Nodes() {
			if n.ID == originID {
				addr = n.CascadeAddr
			}
		}
		if addr == "" {
			rc.log.Warn("origin not in the registry yet", "origin", originID)
			return
		}
	}
	if rc.role != roleEdge || rc.upAddr != addr {
		rc.log.Info("pulling the room from its parent", "origin", originID, "parent", addr)
	}
	rc.role = roleEdge
	rc.setParent(addr, originID)
}

// setParent switches the parent link; mirrors learnt from the old parent go.
func (rc *roomCascade) setParent(addr, _ string) {
	if addr == rc.upAddr {
		return
	}
	if rc.up != nil {
		rc.up.LeaveRoom(rc.name)
		old := rc.parentID
		_ = rc.r.Do(func() { rc.dropVia(old, "parent changed") })
	}
	rc.up, rc.upAddr, rc.upGen, rc.parentID = nil, addr, 0, ""
	if addr == "" {
		return
	}
	l, err := rc.rt.parentLink(addr)
	if err != nil {
		rc.log.Warn("cascade link failed", "parent", addr, "err", err)
		rc.upAddr = ""
		return
	}
	rc.up = l
	l.JoinRoom(rc.name)
}

// --- on the room loop -------------------------------------------------

func (rc *roomCascade) dropVia(via, why string) {
	for id, m := range rc.mirrors {
		if via == "" || m.Via() == via {
			m.CloseOnLoop(why)
			delete(rc.mirrors, id)
		}
	}
}

// syncOnLoop keeps mirrors and announcements current; it returns the
// events to send and the room's local state.
func (rc *roomCascade) syncOnLoop(now time.Time, parent string, children []string) (localState, []addressed) {
	if parent != "" {
		rc.parentID = parent
	}
	for _, c := range children {
		rc.lastSeen[c] = now
	}
	for id, m := range rc.mirrors {
		gone := !m.Present()
		if !gone && m.Via() != rc.parentID {
			if seen, ok := rc.lastSeen[m.Via()]; !ok || now.Sub(seen) > childGone {
				m.CloseOnLoop("child node left the room")
				gone = true
			}
		}
		if gone {
			delete(rc.mirrors, id)
			continue
		}
		if err := m.RefreshOnLoop(now); err != nil {
			rc.log.Debug("mirror pull failed", "participant", id, "err", err)
		}
	}
	anns := rc.r.AnnounceOnLoop()
	var st localState
	for _, a := range anns {
		if !rc.isMirror(a.Info) {
			st.local++
			st.publisher = st.publisher || a.Publisher
		}
	}
	var out []addressed
	if parent != "" {
		out = append(out, rc.announceTo(parent, true, anns)...)
	}
	for _, c := range children {
		out = append(out, rc.announceTo(c, false, anns)...)
	}
	return st, out
}

func (rc *roomCascade) isMirror(info *livekit.ParticipantInfo) bool {
	m, ok := rc.mirrors[info.Identity]
	return ok && m.Participant().SID() == info.Sid
}

// announceTo diffs what nb was told against the room now.
func (rc *roomCascade) announceTo(nb string, parent bool, anns []room.Announcement) []addressed {
	sent := rc.sent[nb]
	if sent == nil {
		sent = map[string]sentState{}
		rc.sent[nb] = sent
	}
	var out []addressed
	cur := map[string]bool{}
	for _, a := range anns {
		if m, ok := rc.mirrors[a.Info.Identity]; ok && m.Participant().SID() == a.Info.Sid && m.Via() == nb {
			continue // never echo a participant back where it came from
		}
		cur[a.Info.Sid] = true
		s := sentState{version: a.Info.Version, tracks: len(a.Info.Tracks)}
		if old, ok := sent[a.Info.Sid]; ok && old == s {
			continue
		}
		b, err := proto.Marshal(a.Info)
		if err != nil {
			continue
		}
		payload, _ := json.Marshal(wireParticipant{Info: b, Tracks: a.Tracks, Addr: rc.rt.addr})
		sent[a.Info.Sid] = s
		out = append(out, addressed{to: nb, parent: parent, ev: cascade.Event{Room: rc.name,
			Kind: cascade.EventParticipantUpdate, Participant: a.Info.Sid, Payload: payload}})
	}
	for sid := range sent {
		if !cur[sid] {
			delete(sent, sid)
			payload, _ := json.Marshal(wireLeft{SID: sid})
			out = append(out, addressed{to: nb, parent: parent, ev: cascade.Event{Room: rc.name,
				Kind: cascade.EventParticipantLeft, Participant: sid, Payload: payload}})
		}
	}
	if rc.resync[nb] {
		delete(rc.resync, nb)
		sids := make([]string, 0, len(cur))
		for sid := range cur {
			sids = append(sids, sid)
		}
		payload, _ := json.Marshal(wireSynced{SIDs: sids})
		out = append(out, addressed{to: nb, parent: parent, ev: cascade.Event{Room: rc.name, Kind: evSynced, Payload: payload}})
	}
	return out
}

// apply handles a batch of neighbor events on the room loop, then sends
// what must be forwarded.
func (rc *roomCascade) apply(batch []inbound) {
	parent, children := rc.neighbors()
	var out []addressed
	_ = rc.r.Do(func() {
		for _, in := range batch {
			if in.ev.Kind == cascade.EventData {
				rc.dataOnLoop(in)
				continue
			}
			rc.applyOnLoop(in)
		}
	})
	for _, in := range batch {
		if in.ev.Kind == cascade.EventData {
			for _, a := range rc.fanoutTo(in.ev, in.from, parent, children) {
				out = append(out, a)
			}
		}
	}
	rc.send(out)
	rc.poke()
}

func (rc *roomCascade) fanoutTo(ev cascade.Event, except, parent string, children []string) []addressed {
	var out []addressed
	if parent != "" && parent != except {
		out = append(out, addressed{to: parent, parent: true, ev: ev})
	}
	for _, c := range children {
		if c != except {
			out = append(out, addressed{to: c, ev: ev})
		}
	}
	return out
}

func (rc *roomCascade) dataOnLoop(in inbound) {
	var dp livekit.DataPacket
	if proto.Unmarshal(in.ev.Payload, &dp) != nil {
		return
	}
	rc.r.SendDataOnLoop(&dp, dp.DestinationIdentities...)
}

func (rc *roomCascade) applyOnLoop(in inbound) {
	ev := in.ev
	switch ev.Kind {
	case evSync:
		rc.resync[in.from] = true
		delete(rc.sent, in.from)
		rc.lastSeen[in.from] = time.Now()
	case evSynced:
		var w wireSynced
		if json.Unmarshal(ev.Payload, &w) != nil {
			return
		}
		keep := map[string]bool{}
		for _, s := range w.SIDs {
			keep[s] = true
		}
		for id, m := range rc.mirrors {
			if m.Via() == in.from && !keep[m.Participant().SID()] {
				m.CloseOnLoop("gone from " + in.from)
				delete(rc.mirrors, id)
			}
		}
	case cascade.EventParticipantLeft:
		for id, m := range rc.mirrors {
			if m.Participant().SID() == ev.Participant && m.Via() == in.from {
				m.CloseOnLoop("left on " + in.from)
				delete(rc.mirrors, id)
			}
		}
	case cascade.EventParticipantJoined, cascade.EventParticipantUpdate:
		rc.upsertOnLoop(in)
	}
}

func (rc *roomCascade) upsertOnLoop(in inbound) {
	var w wireParticipant
	if json.Unmarshal(in.ev.Payload, &w) != nil {
		return
	}
	info := &livekit.ParticipantInfo{}
	if proto.Unmarshal(w.Info, info) != nil || info.Identity == "" {
		return
	}
	if in.fromParent {
		rc.parentID = in.from
	} else {
		rc.lastSeen[in.from] = time.Now()
	}
	spec := room.MirrorSpec{Info: info, Tracks: w.Tracks, Via: in.from, Source: rc.source(in.fromParent, w.Addr)}
	if m, ok := rc.mirrors[info.Identity]; ok {
		if m.Participant().SID() == info.Sid && m.Present() {
			m.UpdateOnLoop(spec)
			return
		}
		m.CloseOnLoop("replaced")
		delete(rc.mirrors, info.Identity)
	}
	m, err := rc.r.AddMirrorOnLoop(spec)
	if err != nil {
		return // connected here itself: the local participant wins
	}
	rc.mirrors[info.Identity] = m
}

func (rc *roomCascade) source(fromParent bool, addr string) room.MirrorSource {
	if fromParent {
		return linkSource{link: rc.up, room: rc.name}
	}
	return uplinkSource{rt: rc.rt, addr: addr, room: rc.name}
}

// linkSource pulls mirrored tracks from the parent over the shared link.
type linkSource struct {
	link *cascade.Link
	room string
}

func (s linkSource) Pull(sid string, layers []int, p track.Producer) (room.MirrorFeed, error) {
	if s.link == nil {
		return nil, cascade.ErrNotConnected
	}
	return s.link.Subscribe(s.room, sid, layers, p)
}

// uplinkSource pulls a track published on a child over a reverse link.
type uplinkSource struct {
	rt   *cascadeRuntime
	addr string
	room string
}

func (s uplinkSource) Pull(sid string, layers []int, p track.Producer) (room.MirrorFeed, error) {
	l, err := s.rt.reverseLink(s.addr)
	if err != nil {
		return nil, err
	}
	return l.Subscribe(s.room, sid, layers, p)
}
