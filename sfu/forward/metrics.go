package forward

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the forwarding counters. Every field is safe to share between
// all tracks; incrementing a prometheus counter is one atomic add, so they are
// fine on the per-packet path.
type Metrics struct {
	PacketsIn  prometheus.Counter
	BytesIn    prometheus.Counter
	PacketsOut prometheus.Counter
	BytesOut   prometheus.Counter
	// Drops counts packets not delivered to a subscriber because its writer
	// queue was full (slow-subscriber policy).
	Drops prometheus.Counter
	// NACKs counts sequence numbers subscribers asked for; Retransmits those
	// answered from the shared cache; NACKMisses those no longer cached.
	NACKs       prometheus.Counter
	Retransmits prometheus.Counter
	NACKMisses  prometheus.Counter
	// NACKsStale counts NACKs not answered because the packet belongs to a
	// layer the subscriber has since switched away from (or its video is
	// paused): resending the old top layer into a link that just proved too
	// thin for it would only keep the queue full.
	NACKsStale prometheus.Counter
	// NACKsLimited counts NACKs not answered because the subscriber's
	// retransmission budget for the track was spent (see rtxBudget).
	NACKsLimited prometheus.Counter
	// PLIs counts keyframe requests sent to publishers (after merging).
	PLIs prometheus.Counter
	// KeyframeRequests counts keyframe requests from subscribers (before merging).
	KeyframeRequests prometheus.Counter
	// LayerSwitches counts simulcast layer switches done for subscribers.
	LayerSwitches prometheus.Counter
	// DataDropped counts data packets dropped (malformed, oversized, not allowed).
	DataDropped prometheus.Counter
}

// NewMetrics creates the counters and registers them on reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "classcast", Subsystem: "forward", Name: name, Help: help})
	}
	m := &Metrics{
		PacketsIn:        c("packets_in_total", "RTP packets received from publishers."),
		BytesIn:          c("bytes_in_total", "RTP bytes received from publishers."),
		PacketsOut:       c("packets_out_total", "RTP packets sent to subscribers."),
		BytesOut:         c("bytes_out_total", "RTP bytes sent to subscribers."),
		Drops:            c("drops_total", "Packets dropped for slow subscribers (writer queue full)."),
		NACKs:            c("nacks_total", "Sequence numbers NACKed by subscribers."),
		Retransmits:      c("retransmits_total", "Packets retransmitted from the shared cache."),
		NACKMisses:       c("nack_misses_total", "NACKed packets no longer in the cache."),
		NACKsStale:       c("nacks_stale_total", "NACKs not answered: the packet's layer is no longer forwarded to that subscriber."),
		NACKsLimited:     c("nacks_limited_total", "NACKs not answered: the subscriber's retransmission budget for the track was spent."),
		PLIs:             c("plis_total", "Keyframe requests sent to publishers after merging."),
		KeyframeRequests: c("keyframe_requests_total", "Keyframe requests from subscribers before merging."),
		LayerSwitches:    c("layer_switches_total", "Simulcast layer switches."),
		DataDropped:      c("data_dropped_total", "Data packets dropped (malformed, oversized or not allowed)."),
	}
	if reg != nil {
		reg.MustRegister(m.PacketsIn, m.BytesIn, m.PacketsOut, m.BytesOut, m.Drops, m.NACKs,
			m.Retransmits, m.NACKMisses, m.NACKsStale, m.NACKsLimited, m.PLIs, m.KeyframeRequests, m.LayerSwitches, m.DataDropped)
	}
	return m
}
