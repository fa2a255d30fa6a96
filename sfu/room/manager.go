package room

import (
	"sort"

	"github.com/livekit/protocol/livekit"
	"sync"
)

// Manager holds a node's rooms. Rooms are created on first join and remove
// themselves when they close.
type Manager struct {
	cfg Config
	mu  sync.Mutex
	// rooms is guarded by mu.
	rooms    map[string]*Room
	onCreate []func(*Room)
	closed   bool
}

// NewManager creates an empty manager.
func NewManager(cfg Config) *Manager {
	cfg.setDefaults()
	return &Manager{cfg: cfg, rooms: make(map[string]*Room)}
}

// Config returns the manager's room configuration.
func (m *Manager) Config() Config { return m.cfg }

// Get returns an existing room.
func (m *Manager) Get(name string) (*Room, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[name]
	return r, ok
}

// GetOrCreate returns the room, creating it if needed.
func (m *Manager) GetOrCreate(name string) (*Room, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrRoomClosed
	}
	if r, ok := m.rooms[name]; ok {
		return r, nil
	}
	r := newRoom(name, m.cfg, m.forget)
	for _, f := range m.onCreate {
		f(r)
	}
	m.rooms[name] = r
	return r, nil
}

func (m *Manager) forget(r *Room) {
	m.mu.Lock()
	if m.rooms[r.name] == r {
		delete(m.rooms, r.name)
	}
	m.mu.Unlock()
}

// List returns the rooms sorted by name.
func (m *Manager) List() []*Room {
	m.mu.Lock()
	out := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		out = append(out, r)
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Close closes every room (graceful shutdown: clients are told).
func (m *Manager) Close(reason string) {
	m.mu.Lock()
	m.closed = true
	rooms := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		rooms = append(rooms, r)
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range rooms {
		wg.Add(1)
		go func() { defer wg.Done(); r.CloseWith(reason, livekit.DisconnectReason_SERVER_SHUTDOWN) }()
	}
	wg.Wait()
}

// AddHooks registers a hook factory for rooms created from now on. Call it
// while wiring the node, before clients connect.
func (m *Manager) AddHooks(f func(r *Room) Hooks) {
	m.mu.Lock()
	m.cfg.NewHooks = append(m.cfg.NewHooks, f)
	m.mu.Unlock()
}

// OnRoomCreated registers a function called (under the manager's lock, so
// keep it short) for every new room, e.g. to start a recording.
func (m *Manager) OnRoomCreated(f func(r *Room)) {
	m.mu.Lock()
	m.onCreate = append(m.onCreate, f)
	m.mu.Unlock()
}
