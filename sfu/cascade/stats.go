package cascade

import (
	"sort"
	"sync/atomic"
)

// Per-child accessors the core needs beyond Broadcast: addressed events,
// which children follow a room, and egress counters per (child, track,
// layer) so that "one copy of each needed layer per child" is measurable.

type trackKey struct{ room, sid string }

// counter returns the session's egress counters of a track, creating them.
func (ps *parentSession) counter(room, sid string) *[maxLayers]atomic.Uint64 {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	k := trackKey{room, sid}
	c := ps.counters[k]
	if c == nil {
		c = new([maxLayers]atomic.Uint64)
		ps.counters[k] = c
	}
	return c
}

// LayerCount is the number of media packets (retransmissions excluded)
// queued for one child on one layer of one track since the child connected.
type LayerCount struct {
	Child   string
	Room    string
	Track   string
	Layer   int
	Packets uint64
}

// LayerCounts lists the egress counters of every connected child, sorted.
func (s *Server) LayerCounts() []LayerCount {
	s.mu.Lock()
	sessions := make([]*parentSession, 0, len(s.sessions))
	for ps := range s.sessions {
		sessions = append(sessions, ps)
	}
	s.mu.Unlock()
	var out []LayerCount
	for _, ps := range sessions {
		ps.mu.Lock()
		for k, c := range ps.counters {
			for l := range maxLayers {
				if n := c[l].Load(); n > 0 {
					out = append(out, LayerCount{Child: ps.peer, Room: k.room, Track: k.sid, Layer: l, Packets: n})
				}
			}
		}
		ps.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Child != b.Child {
			return a.Child < b.Child
		}
		if a.Track != b.Track {
			return a.Track < b.Track
		}
		return a.Layer < b.Layer
	})
	return out
}

// SendTo sends an event to one child (by node id) that joined ev.Room. It
// returns ErrNotConnected when no such child is connected.
func (s *Server) SendTo(child string, ev Event) error {
	s.mu.Lock()
	var target *parentSession
	for ps := range s.sessions {
		if ps.peerID() == child && ps.joined(ev.Room) {
			target = ps
		}
	}
	s.mu.Unlock()
	if target == nil {
		return ErrNotConnected
	}
	target.sendEvent(ev)
	return nil
}

// JoinedChildren lists the node ids of connected children that joined room.
func (s *Server) JoinedChildren(room string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for ps := range s.sessions {
		if id := ps.peerID(); id != "" && ps.joined(room) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// LeaveRoom stops the parent's events for room (JoinRoom undone).
func (l *Link) LeaveRoom(room string) {
	l.mu.Lock()
	delete(l.rooms, room)
	l.mu.Unlock()
	if cc := l.cur.Load(); cc != nil {
		_ = cc.ctl.send(&message{Type: msgLeave, Room: room})
	}
}

// ParentID is the node id of the parent while connected ("" otherwise).
func (l *Link) ParentID() string {
	if cc := l.cur.Load(); cc != nil {
		return cc.parent
	}
	return ""
}

// Generation counts the connections the link has made: the core resends
// its room state when it changes.
func (l *Link) Generation() uint64 { return l.gen.Load() }
