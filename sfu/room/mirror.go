package room

import (
	"fmt"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"github.com/classcast/classcast/sfu/allocator"
	"github.com/classcast/classcast/sfu/forward"
	"github.com/classcast/classcast/sfu/track"
)

// Mirrors are how a room spans nodes (sfu/node/cascade.go). A participant
// that lives on another node appears here as a mirror: same identity, same
// participant and track SIDs, same ParticipantInfo (version included), so a
// subscriber cannot tell an edge from the origin. A mirror's tracks are
// external tracks whose producers are fed over a cascade link, pulled only
// while someone here (a subscriber, a recorder, a cascade child) needs them,
// and only the simulcast layers needed.

// layerHold keeps a layer pulled this long after its last consumer left, so
// a subscriber oscillating between layers does not make the parent detach
// and re-attach (each attach costs a keyframe).
const layerHold = 3 * time.Second

// MirrorFeed is a running pull of one mirrored track from a neighbor node.
type MirrorFeed interface {
	// SetLayers changes the layers pulled (empty: none, the feed idles).
	SetLayers(layers []int)
	// Close stops the pull.
	Close()
}

// MirrorSource pulls mirrored tracks from the neighbor a mirror came from.
type MirrorSource interface {
	// Pull starts writing the given layers of a track into p.
	Pull(trackSID string, layers []int, p track.Producer) (MirrorFeed, error)
}

// MirrorSpec describes a participant of another node as that node sees it.
type MirrorSpec struct {
	// Info is the participant as its home node announces it, tracks included.
	Info *livekit.ParticipantInfo
	// Tracks gives each track's codec and layer count, by track SID.
	Tracks map[string]track.Info
	// Via is the neighbor node it was learnt from; Source pulls from it.
	Via    string
	Source MirrorSource
}

// Mirror is a participant of another node shown in this room. Its methods
// must be called on the room loop.
type Mirror struct {
	room   *Room
	p      *Participant
	via    string
	src    MirrorSource
	tracks map[string]*mirrorTrack
}

type mirrorTrack struct {
	t        *publishedTrack
	prod     *producer
	feed     MirrorFeed
	pulled   [forward.MaxLayers]bool
	lastNeed [forward.MaxLayers]time.Time
}

// Participant is the mirror's participant in the room.
func (m *Mirror) Participant() *Participant { return m.p }

// Via is the neighbor node the mirror came from.
func (m *Mirror) Via() string { return m.via }

// Present reports whether the mirror is still the room's participant for
// its identity (a local join with the same identity replaces it).
func (m *Mirror) Present() bool { return m.room.participants[m.p.identity] == m.p }

// AddMirrorOnLoop shows a participant of another node. A local participant
// with the same identity wins: ErrNotAllowed. Call on the room loop.
func (r *Room) AddMirrorOnLoop(spec MirrorSpec) (*Mirror, error) {
	info := spec.Info
	if info == nil || info.Identity == "" || info.Sid == "" {
		return nil, fmt.Errorf("%w: mirror without identity", ErrBadRequest)
	}
	if old, ok := r.participants[info.Identity]; ok {
		if !old.external {
			return nil, fmt.Errorf("%w: %s is connected here", ErrNotAllowed, info.Identity)
		}
		r.removeLocked(old, "replaced by a mirror from "+spec.Via)
	}
	g := &auth.VideoGrant{RoomJoin: true, Room: r.name}
	if info.Permission != nil {
		g.UpdateFromPermission(info.Permission)
	}
	p := newExternalParticipant(r, info.Identity, info.Name, info.Kind, g)
	p.sid = info.Sid
	p.log = r.log.With("participant", info.Identity, "psid", info.Sid, "mirror_via", spec.Via)
	m := &Mirror{room: r, p: p, via: spec.Via, src: spec.Source, tracks: map[string]*mirrorTrack{}}
	m.setInfoLocked(info)
	for _, ti := range info.Tracks {
		m.addTrack(ti, spec.Tracks[ti.Sid])
	}
	r.participants[info.Identity] = p
	r.everJoined = true
	r.broadcastLocked(p)
	for _, mt := range m.tracks {
		r.trackAnnouncedLocked(p, mt.t)
	}
	r.hooks.Joined(r, p)
	p.log.Info("mirror participant added", "tracks", len(m.tracks))
	return m, nil
}

func (m *Mirror) setInfoLocked(info *livekit.ParticipantInfo) {
	pi := proto.Clone(info).(*livekit.ParticipantInfo)
	pi.Tracks = nil
	m.p.mu.Lock()
	m.p.info = pi
	m.p.mu.Unlock()
}

func (m *Mirror) addTrack(ti *livekit.TrackInfo, ci track.Info) {
	p := m.p
	layers := 1
	if ti.Type == livekit.TrackType_VIDEO && ti.Simulcast && len(ti.Layers) > 1 {
		layers = min(len(ti.Layers), forward.MaxLayers)
	}
	ci.SID, ci.Name, ci.ParticipantSID, ci.ParticipantIdentity = ti.Sid, ti.Name, p.sid, p.identity
	ci.Source, ci.Simulcast, ci.Layers = ti.Source, layers > 1, ti.Layers
	t := &publishedTrack{p: p, info: proto.Clone(ti).(*livekit.TrackInfo), announced: true, live: layers}
	t.up = forward.NewUpTrack(forward.UpTrackConfig{
		Info: ci, Layers: layers, RequestKeyframe: t.requestKeyframe,
		Metrics: m.room.cfg.Metrics, Logger: p.log.With("track", ti.Sid),
	})
	t.up.SetMuted(ti.Muted)
	p.mu.Lock()
	p.tracks[ti.Sid] = t
	p.mu.Unlock()
	m.tracks[ti.Sid] = &mirrorTrack{t: t, prod: &producer{t: t}}
}

// UpdateOnLoop applies a newer announcement of the participant: info,
// tracks added, removed, muted. Call on the room loop.
func (m *Mirror) UpdateOnLoop(spec MirrorSpec) {
	if !m.Present() {
		return
	}
	r, p, info := m.room, m.p, spec.Info
	p.mu.Lock()
	same := p.info.Version == info.Version
	p.mu.Unlock()
	if same && len(info.Tracks) == len(m.tracks) {
		return
	}
	m.setInfoLocked(info)
	keep := map[string]bool{}
	var added []*publishedTrack
	for _, ti := range info.Tracks {
		keep[ti.Sid] = true
		if mt, ok := m.tracks[ti.Sid]; ok {
			p.mu.Lock()
			mt.t.info = proto.Clone(ti).(*livekit.TrackInfo)
			p.mu.Unlock()
			mt.t.up.SetMuted(ti.Muted)
			continue
		}
		m.addTrack(ti, spec.Tracks[ti.Sid])
		added = append(added, m.tracks[ti.Sid].t)
	}
	for sid, mt := range m.tracks {
		if keep[sid] {
			continue
		}
		mt.close()
		delete(m.tracks, sid)
		for _, o := range r.participants {
			if o != p {
				o.unsubscribe(sid)
			}
		}
		p.removeTrack(sid)
	}
	r.broadcastLocked(p)
	for _, t := range added {
		r.trackAnnouncedLocked(p, t)
	}
}

// CloseOnLoop removes the mirror (its home node says it left, or the
// neighbor it came from is gone). Call on the room loop.
func (m *Mirror) CloseOnLoop(reason string) {
	for _, mt := range m.tracks {
		mt.close()
	}
	if m.Present() {
		m.room.removeLocked(m.p, reason)
	}
}

func (mt *mirrorTrack) close() {
	if mt.feed != nil {
		mt.feed.Close()
		mt.feed = nil
	}
}

// RefreshOnLoop pulls exactly the layers of each mirrored track that this
// node needs now (see needs), starting a feed on first need. It returns the
// first pull error. Call on the room loop, periodically.
func (m *Mirror) RefreshOnLoop(now time.Time) error {
	var first error
	for sid, mt := range m.tracks {
		want := m.room.needs(mt.t)
		changed := false
		n := mt.t.up.Layers()
		var layers []int
		for l := 0; l < n; l++ {
			if want[l] {
				mt.lastNeed[l] = now
			}
			on := want[l] || (mt.pulled[l] && now.Sub(mt.lastNeed[l]) < layerHold)
			if on != mt.pulled[l] {
				mt.pulled[l], changed = on, true
			}
			if on {
				layers = append(layers, l)
			}
		}
		switch {
		case mt.feed == nil && len(layers) > 0:
			feed, err := m.src.Pull(sid, layers, mt.prod)
			if err != nil {
				clear(mt.pulled[:])
				if first == nil {
					first = err
				}
				continue
			}
			mt.feed = feed
		case mt.feed != nil && changed:
			mt.feed.SetLayers(layers)
		}
	}
	return first
}

// PulledLayers is the bitmask of layers pulled for a mirrored track.
func (m *Mirror) PulledLayers(sid string) uint8 {
	mt, ok := m.tracks[sid]
	if !ok {
		return 0
	}
	var b uint8
	for l, on := range mt.pulled {
		if on {
			b |= 1 << l
		}
	}
	return b
}

// needs is the set of layers of t that consumers on this node need: every
// local subscriber's requested layer (not what is available: the edge
// must not limit itself to what it already pulls), the layer it forwards
// now, the lower layer the bandwidth allocator gave it, the lowest layer
// for a subscriber paused for bandwidth (its fallback), plus the layers
// cascade children attached (RawLayers) and the top layer for attached
// consumers (recorder, RTSP). Called on the room loop.
func (r *Room) needs(t *publishedTrack) [forward.MaxLayers]bool {
	var want [forward.MaxLayers]bool
	up := t.up
	n := up.Layers()
	raw := up.RawLayers()
	for l := 0; l < n; l++ {
		want[l] = raw&(1<<l) != 0
	}
	if up.Attached() > 0 {
		want[n-1] = true
	}
	sid := up.Info().SID
	for _, o := range r.participants {
		if o.external {
			continue
		}
		o.mu.Lock()
		sub := o.subscriptions[sid]
		o.mu.Unlock()
		if sub == nil {
			continue
		}
		if n == 1 {
			want[0] = true
			continue
		}
		dt := sub.down()
		paused := dt.Paused()
		if paused&forward.PauseSubscriberDisabled != 0 {
			continue
		}
		sub.mu.Lock()
		req, applied := sub.request, sub.applied
		sub.mu.Unlock()
		wanted := requestedLayer(req, up.Info().Layers, n)
		want[wanted] = true
		if cur := dt.CurrentLayer(); cur >= 0 && cur < n {
			want[cur] = true
		}
		if applied > 0 && applied-1 < wanted {
			want[applied-1] = true
		}
		if paused&forward.PauseBandwidth != 0 {
			want[0] = true
		}
	}
	return want
}

// requestedLayer is the layer a subscriber's settings ask for, among n:
// the smallest covering its rendered size, else its quality cap, else the top.
func requestedLayer(req allocator.Request, layers []*livekit.VideoLayer, n int) int {
	switch {
	case req.Width > 0 || req.Height > 0:
		return max(0, min(layerForSize(layers, n, uint32(req.Width), uint32(req.Height)), n-1))
	case req.HasMaxSpatial && req.MaxSpatial >= 0:
		return min(req.MaxSpatial, n-1)
	}
	return n - 1
}
