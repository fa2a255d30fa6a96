package cluster

// Load is what a node reports about itself at every heartbeat.
type Load struct {
	Participants int     `json:"participants"`
	Rooms        int     `json:"rooms"`
	CPU          float64 `json:"cpu"`           // 0..1 of the node's cores
	BandwidthBps int64   `json:"bandwidth_bps"` // current egress
}

// Capacity bounds what a node accepts. Zero fields are unbounded.
type Capacity struct {
	MaxParticipants int   `json:"max_participants,omitempty"`
	MaxBandwidthBps int64 `json:"max_bandwidth_bps,omitempty"`
}

// NodeInfo is one node's announcement in the registry.
type NodeInfo struct {
	ID           string   `json:"id"`
	Region       string   `json:"region"`
	SignalingURL string   `json:"signaling_url"`
	CascadeAddr  string   `json:"cascade_addr"` // QUIC host:port for cascade links
	Draining     bool     `json:"draining,omitempty"`
	Capacity     Capacity `json:"capacity"`
	Load         Load     `json:"load"`
}

// Utilization is the node's busiest resource as a fraction of its
// capacity: max(cpu, participants/max, bandwidth/max). One number keeps edge
// choice explainable; the busiest resource is what would hurt a lesson first.
func (n NodeInfo) Utilization() float64 {
	u := n.Load.CPU
	if n.Capacity.MaxParticipants > 0 {
		u = max(u, float64(n.Load.Participants)/float64(n.Capacity.MaxParticipants))
	}
	if n.Capacity.MaxBandwidthBps > 0 {
		u = max(u, float64(n.Load.BandwidthBps)/float64(n.Capacity.MaxBandwidthBps))
	}
	return u
}
