package rtsp

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Manager holds the pull sources of a server: from configuration at start
// and from admin API calls afterwards.
type Manager struct {
	host Host
	log  *slog.Logger

	// mu guards sources and closed; never held while a Source closes.
	mu      sync.Mutex
	sources map[string]*Source
	closed  bool
}

// NewManager returns an empty manager publishing into host.
func NewManager(host Host, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.Default()
	}
	return &Manager{host: host, log: log, sources: make(map[string]*Source)}
}

// Add starts a source. It fails with ErrExists when the ID is taken and
// ErrBadConfig when cfg is invalid; connection problems do not fail Add,
// they show in the source's state.
func (m *Manager) Add(cfg SourceConfig) (SourceState, error) {
	if err := cfg.setDefaults(); err != nil {
		return SourceState{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return SourceState{}, ErrClosed
	}
	if _, ok := m.sources[cfg.ID]; ok {
		return SourceState{}, fmt.Errorf("source %q: %w", cfg.ID, ErrExists)
	}
	src, err := NewSource(cfg, m.host, m.log)
	if err != nil {
		return SourceState{}, err
	}
	m.sources[cfg.ID] = src
	return src.State(), nil
}

// Remove stops and unpublishes a source, waiting for it.
func (m *Manager) Remove(id string) error {
	m.mu.Lock()
	src, ok := m.sources[id]
	delete(m.sources, id)
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("source %q: %w", id, ErrNotFound)
	}
	src.Close()
	return nil
}

// Get returns one source's state.
func (m *Manager) Get(id string) (SourceState, error) {
	m.mu.Lock()
	src, ok := m.sources[id]
	m.mu.Unlock()
	if !ok {
		return SourceState{}, fmt.Errorf("source %q: %w", id, ErrNotFound)
	}
	return src.State(), nil
}

// List returns every source's state, sorted by ID.
func (m *Manager) List() []SourceState {
	m.mu.Lock()
	srcs := make([]*Source, 0, len(m.sources))
	for _, s := range m.sources {
		srcs = append(srcs, s)
	}
	m.mu.Unlock()
	out := make([]SourceState, len(srcs))
	for i, s := range srcs {
		out[i] = s.State()
	}
	slices.SortFunc(out, func(a, b SourceState) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Close stops every source and refuses further Adds.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	srcs := m.sources
	m.sources = map[string]*Source{}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range srcs {
		wg.Add(1)
		go func() { defer wg.Done(); s.Close() }()
	}
	wg.Wait()
}

// Collector exports the sources' state as prometheus metrics, read at
// scrape time. The server registers it.
func (m *Manager) Collector() prometheus.Collector { return &managerCollector{m: m} }

var (
	descSourceUp = prometheus.NewDesc("classcast_rtsp_source_up",
		"1 when the pull source is connected, 0 while connecting or retrying.", []string{"source", "room"}, nil)
	descSourceReconnects = prometheus.NewDesc("classcast_rtsp_source_reconnects_total",
		"Reconnect attempts of the pull source.", []string{"source", "room"}, nil)
	descSourceBitrate = prometheus.NewDesc("classcast_rtsp_source_bitrate_bps",
		"RTP payload bitrate received from the pull source over the last second.", []string{"source", "room"}, nil)
)

type managerCollector struct{ m *Manager }

func (c *managerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSourceUp
	ch <- descSourceReconnects
	ch <- descSourceBitrate
}

func (c *managerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.m.List() {
		up := 0.0
		if st.Status == StatusConnected {
			up = 1
		}
		emit(ch, descSourceUp, prometheus.GaugeValue, up, st)
		emit(ch, descSourceReconnects, prometheus.CounterValue, float64(st.Reconnects), st)
		emit(ch, descSourceBitrate, prometheus.GaugeValue, st.BitrateBps, st)
	}
}

func emit(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, st SourceState) {
	if m, err := prometheus.NewConstMetric(d, t, v, st.ID, st.Room); err == nil {
		ch <- m
	}
}
