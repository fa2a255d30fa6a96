package classroom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/classcast/classcast/sfu/room"
)

// Service is the classroom layer of one node: it creates the rules of each
// new room and owns the metrics shared by all rooms.
type Service struct {
	cfg Config
	m   *metrics
}

// New creates the service; register Hooks with the room manager
// (Manager.AddHooks) and Collectors with the node's registry.
func New(cfg Config) *Service {
	cfg.setDefaults()
	return &Service{cfg: cfg, m: newMetrics()}
}

// Collectors are the service's prometheus metrics.
func (s *Service) Collectors() []prometheus.Collector { return s.m.collectors() }

// Hooks creates the classroom rules of a new room (a room.Manager hook factory).
func (s *Service) Hooks(r *room.Room) room.Hooks { return newRules(s, r) }
