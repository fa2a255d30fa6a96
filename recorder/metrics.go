package recorder

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/classcast/classcast/recorder/trackwriter"
)

// Metrics are the recorder's Prometheus collectors. The server registers
// them: registry.MustRegister(rec.Metrics()). Per-packet counters are read
// from the track writers at scrape time, so recording costs nothing extra.
type Metrics struct {
	active      prometheus.Gauge
	recordings  *prometheus.CounterVec
	writeErrors prometheus.Counter
	// eventsDropped counts timeline events PostEvent could not queue.
	eventsDropped prometheus.Counter

	mu       sync.Mutex
	live     map[*trackwriter.Writer]struct{}
	finished trackwriter.Stats
}

var trackDescs = struct {
	packets, dropped, lost, late, frames, fragments, bytes *prometheus.Desc
}{
	packets:   prometheus.NewDesc("classcast_recorder_packets_total", "RTP packets accepted by track writers.", nil, nil),
	dropped:   prometheus.NewDesc("classcast_recorder_packets_dropped_total", "RTP packets dropped because a writer queue was full.", nil, nil),
	lost:      prometheus.NewDesc("classcast_recorder_packets_lost_total", "RTP packets given up on by the jitter buffer.", nil, nil),
	late:      prometheus.NewDesc("classcast_recorder_packets_late_total", "RTP packets arriving after their slot was skipped, or duplicates.", nil, nil),
	frames:    prometheus.NewDesc("classcast_recorder_frames_total", "Samples written.", nil, nil),
	fragments: prometheus.NewDesc("classcast_recorder_fragments_total", "fMP4 fragments written and synced.", nil, nil),
	bytes:     prometheus.NewDesc("classcast_recorder_bytes_total", "Bytes written to track files.", nil, nil),
}

// NewMetrics creates unregistered collectors.
func NewMetrics() *Metrics {
	return &Metrics{
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "classcast_recorder_recordings_active", Help: "Recordings in progress.",
		}),
		recordings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "classcast_recorder_recordings_total",
			Help: "Recordings finalized, by status (complete, incomplete, recovered).",
		}, []string{"status"}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "classcast_recorder_write_errors_total",
			Help: "Recordings stopped by a write error (disk full, I/O error). Alert on any increase.",
		}),
		eventsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "classcast_recorder_events_dropped_total",
			Help: "Timeline events dropped because a recording's event queue was full.",
		}),
		live: map[*trackwriter.Writer]struct{}{},
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.active.Describe(ch)
	m.recordings.Describe(ch)
	m.writeErrors.Describe(ch)
	m.eventsDropped.Describe(ch)
	for _, d := range []*prometheus.Desc{trackDescs.packets, trackDescs.dropped, trackDescs.lost,
		trackDescs.late, trackDescs.frames, trackDescs.fragments, trackDescs.bytes} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.active.Collect(ch)
	m.recordings.Collect(ch)
	m.writeErrors.Collect(ch)
	m.eventsDropped.Collect(ch)
	s := m.Totals()
	for _, v := range []struct {
		d *prometheus.Desc
		n uint64
	}{{trackDescs.packets, s.Packets}, {trackDescs.dropped, s.Dropped}, {trackDescs.lost, s.Lost},
		{trackDescs.late, s.Late}, {trackDescs.frames, s.Frames}, {trackDescs.fragments, s.Fragments},
		{trackDescs.bytes, s.Bytes}} {
		ch <- prometheus.MustNewConstMetric(v.d, prometheus.CounterValue, float64(v.n))
	}
}

// Totals sums the counters of every track writer, live and finished.
func (m *Metrics) Totals() trackwriter.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.finished
	for w := range m.live {
		addStats(&t, w.Stats())
	}
	return t
}

func addStats(t *trackwriter.Stats, s trackwriter.Stats) {
	t.Packets += s.Packets
	t.Dropped += s.Dropped + s.Oversize
	t.Lost += s.Lost
	t.Late += s.Late
	t.Frames += s.Frames
	t.Fragments += s.Fragments
	t.Bytes += s.Bytes
}

func (m *Metrics) addWriter(w *trackwriter.Writer) {
	m.mu.Lock()
	m.live[w] = struct{}{}
	m.mu.Unlock()
}

func (m *Metrics) removeWriter(w *trackwriter.Writer) {
	m.mu.Lock()
	if _, ok := m.live[w]; ok {
		delete(m.live, w)
		addStats(&m.finished, w.Stats())
	}
	m.mu.Unlock()
}
