package cluster

import (
	"errors"
	"testing"
)

func TestChooseEdge(t *testing.T) {
	node := func(id, region string, cpu float64, parts int) NodeInfo {
		return NodeInfo{ID: id, Region: region, Load: Load{CPU: cpu, Participants: parts},
			Capacity: Capacity{MaxParticipants: 1000}}
	}
	eu1 := node("eu-1", "eu", 0.5, 100)
	eu2 := node("eu-2", "eu", 0.2, 300)
	eu3 := node("eu-3", "eu", 0.2, 300) // ties eu-2: id breaks it
	us1 := node("us-1", "us", 0.1, 10)
	hot := node("eu-hot", "eu", 0.95, 10)
	drain := node("eu-drain", "eu", 0.0, 0)
	drain.Draining = true
	full := node("ap-full", "ap", 0.1, 950)
	origin := node("origin", "core", 0.3, 5)

	cases := []struct {
		name  string
		nodes []NodeInfo
		req   EdgeRequest
		want  string
		err   error
	}{
		{"least loaded in region", []NodeInfo{eu1, eu2, us1, origin}, EdgeRequest{Region: "eu", OriginID: "origin"}, "eu-2", nil},
		{"tie broken by id", []NodeInfo{eu3, eu2, eu1}, EdgeRequest{Region: "eu"}, "eu-2", nil},
		{"participants count as load", []NodeInfo{
			node("a", "eu", 0.1, 800), node("b", "eu", 0.6, 10)}, EdgeRequest{Region: "eu"}, "b", nil},
		{"overloaded and draining skipped", []NodeInfo{hot, drain, eu1}, EdgeRequest{Region: "eu"}, "eu-1", nil},
		{"no node in region: origin", []NodeInfo{eu1, us1, origin}, EdgeRequest{Region: "ap", OriginID: "origin"}, "origin", nil},
		{"region full: origin", []NodeInfo{full, us1, origin}, EdgeRequest{Region: "ap", OriginID: "origin"}, "origin", nil},
		{"no region, no origin: least loaded anywhere", []NodeInfo{eu1, us1, eu2}, EdgeRequest{}, "us-1", nil},
		{"origin dead: least loaded anywhere", []NodeInfo{eu1, eu2}, EdgeRequest{Region: "ap", OriginID: "gone"}, "eu-2", nil},
		{"everyone busy: busy origin", []NodeInfo{hot, node("origin", "core", 0.97, 1)}, EdgeRequest{Region: "ap", OriginID: "origin"}, "origin", nil},
		{"custom utilization limit", []NodeInfo{eu1, us1}, EdgeRequest{Region: "eu", MaxUtilization: 0.4}, "us-1", nil},
		{"nothing at all", nil, EdgeRequest{Region: "eu"}, "", ErrNoNodes},
		{"only draining", []NodeInfo{drain}, EdgeRequest{Region: "eu", OriginID: "eu-drain"}, "", ErrNoNodes},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ChooseEdge(c.nodes, c.req)
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if got.ID != c.want {
				t.Fatalf("chose %q, want %q", got.ID, c.want)
			}
		})
	}
}

func TestUtilization(t *testing.T) {
	n := NodeInfo{Load: Load{CPU: 0.2, Participants: 50, BandwidthBps: 800},
		Capacity: Capacity{MaxParticipants: 100, MaxBandwidthBps: 1000}}
	if u := n.Utilization(); u != 0.8 {
		t.Fatalf("utilization %v, want 0.8 (bandwidth is the busiest)", u)
	}
}
