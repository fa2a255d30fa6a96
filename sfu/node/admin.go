package node

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/livekit/protocol/livekit"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/classcast/classcast/sfu/room"
	"github.com/classcast/classcast/signaling"
)

// AdminParticipant is one participant in the admin API.
type AdminParticipant struct {
	Info      *livekit.ParticipantInfo `json:"info"`
	Bandwidth *room.Snapshot           `json:"bandwidth,omitempty"`
	// Published: the layers of each published track (received, rate,
	// asked for by dynacast).
	Published []room.PublishedTrack `json:"published,omitempty"`
}

// AdminRoom is one room in the admin API.
type AdminRoom struct {
	Room         *livekit.Room      `json:"room"`
	Participants []AdminParticipant `json:"participants"`
}

func (n *Node) participants(r *room.Room) []*room.Participant {
	var ps []*room.Participant
	_ = r.Do(func() { ps = r.ParticipantsOnLoop() })
	return ps
}

// adminRooms serves GET /api/admin/rooms: every room with its participants
// and, per subscriber, the bandwidth estimate, allocated layers and pause
// reasons. Needs a token with roomAdmin or roomList (no room restriction).
func (n *Node) adminRooms(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	raw := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if raw == "" {
		raw = r.URL.Query().Get("access_token")
	}
	g, err := signaling.Keys(n.cfg.Keys).Verify(raw)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if g.Video == nil || !(g.Video.RoomAdmin || g.Video.RoomList) || g.Video.Room != "" {
		http.Error(w, "token lacks a roomAdmin or roomList grant for all rooms", http.StatusForbidden)
		return
	}
	out := []AdminRoom{}
	for _, rm := range n.rooms.List() {
		ar := AdminRoom{Room: rm.Info()}
		for _, p := range n.participants(rm) {
			ap := AdminParticipant{Info: p.Info(), Published: p.Published()}
			if s, ok := p.Bandwidth(); ok {
				ap.Bandwidth = &s
			}
			ar.Participants = append(ar.Participants, ap)
		}
		out = append(out, ar)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// subscriberCollector exports each subscriber's bandwidth state at scrape
// time: nothing is counted on the media path.
type subscriberCollector struct {
	n        *Node
	estimate *prometheus.Desc
	allowed  *prometheus.Desc
	layer    *prometheus.Desc
	paused   *prometheus.Desc
}

func newSubscriberCollector(n *Node) *subscriberCollector {
	l := []string{"room", "participant"}
	return &subscriberCollector{
		n: n,
		estimate: prometheus.NewDesc("classcast_subscriber_estimate_bps",
			"Send-side bandwidth estimate toward the subscriber.", l, nil),
		allowed: prometheus.NewDesc("classcast_subscriber_allocated_bps",
			"Bandwidth the subscriber's allocation is made for (hysteresis applied).", l, nil),
		layer: prometheus.NewDesc("classcast_subscriber_track_layer",
			"Spatial layer forwarded to the subscriber (-1: none).", append(l, "track"), nil),
		paused: prometheus.NewDesc("classcast_subscriber_paused_tracks",
			"Tracks paused for the subscriber, by reason.", append(l, "reason"), nil),
	}
}

func (c *subscriberCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.estimate
	ch <- c.allowed
	ch <- c.layer
	ch <- c.paused
}

func (c *subscriberCollector) Collect(ch chan<- prometheus.Metric) {
	for _, rm := range c.n.rooms.List() {
		for _, p := range c.n.participants(rm) {
			s, ok := p.Bandwidth()
			if !ok {
				continue
			}
			lv := []string{rm.Name(), p.Identity()}
			ch <- prometheus.MustNewConstMetric(c.estimate, prometheus.GaugeValue, float64(s.EstimateBps), lv...)
			ch <- prometheus.MustNewConstMetric(c.allowed, prometheus.GaugeValue, float64(s.AllowedBps), lv...)
			reasons := map[string]int{}
			for _, t := range s.Tracks {
				ch <- prometheus.MustNewConstMetric(c.layer, prometheus.GaugeValue, float64(t.Current), append(lv, t.TrackSID)...)
				if t.Paused {
					for _, r := range strings.Split(t.Reasons, "|") {
						reasons[r]++
					}
				}
			}
			for r, k := range reasons {
				ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, float64(k), append(lv, r)...)
			}
		}
	}
}
