package rtsp

import "github.com/prometheus/client_golang/prometheus"

// serverMetrics are the RTSP server's collectors. They are not registered
// anywhere by this package: the server registers Server.Collectors().
type serverMetrics struct {
	publishers prometheus.Gauge
	readers    prometheus.Gauge
	refused    *prometheus.CounterVec
	lost       prometheus.Counter
}

func newServerMetrics() *serverMetrics {
	return &serverMetrics{
		publishers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "classcast_rtsp_publishers", Help: "RTSP publishers (ANNOUNCE/RECORD) currently publishing.",
		}),
		readers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "classcast_rtsp_readers", Help: "RTSP reader sessions currently set up.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "classcast_rtsp_refused_total", Help: "RTSP requests refused, by reason (status code or unauthorized).",
		}, []string{"reason"}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "classcast_rtsp_publisher_packets_lost_total", Help: "RTP packets lost from RTSP publishers.",
		}),
	}
}

// Collectors returns the server's prometheus collectors for registration.
func (s *Server) Collectors() []prometheus.Collector {
	m := s.metrics
	return []prometheus.Collector{m.publishers, m.readers, m.refused, m.lost}
}
