package classroom

import "github.com/prometheus/client_golang/prometheus"

// Drop reasons (label values of classcast_classroom_dropped_total).
const (
	dropMalformed   = "malformed"
	dropOversized   = "oversized"
	dropRateLimited = "rate_limited"
	dropSpoofed     = "spoofed"
)

// metrics are the classroom layer's counters. Label values come from fixed
// sets only, so a client cannot grow the series.
type metrics struct {
	dropped   *prometheus.CounterVec // topic, reason
	requests  *prometheus.CounterVec // type, result
	boardOps  *prometheus.CounterVec // op, result
	speakers  prometheus.Counter
	refusedTx prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "classcast", Subsystem: "classroom", Name: "dropped_total",
			Help: "Classroom data messages dropped, by topic and reason (malformed, oversized, rate_limited, spoofed).",
		}, []string{"topic", "reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "classcast", Subsystem: "classroom", Name: "requests_total",
			Help: "classcast.req requests by type and result (ok or the error code).",
		}, []string{"type", "result"}),
		boardOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "classcast", Subsystem: "classroom", Name: "whiteboard_ops_total",
			Help: "Whiteboard operations by op and result.",
		}, []string{"op", "result"}),
		speakers: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "classcast", Subsystem: "classroom", Name: "speaker_updates_total",
			Help: "speakers_changed updates computed (one per change, not per recipient).",
		}),
		refusedTx: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "classcast", Subsystem: "classroom", Name: "refused_tracks_total",
			Help: "Tracks unpublished because the publisher's role may not publish their source.",
		}),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.dropped, m.requests, m.boardOps, m.speakers, m.refusedTx}
}
