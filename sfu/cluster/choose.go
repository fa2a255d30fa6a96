package cluster

// EdgeRequest is what edge choice knows about a joining participant.
type EdgeRequest struct {
	// Region is the participant's region label (from config or token); ""
	// means unknown.
	Region string
	// OriginID is the node holding the room ("" if none yet).
	OriginID string
	// MaxUtilization excludes nodes at or above it. It defaults to 0.9.
	MaxUtilization float64
}

// ChooseEdge picks the node a joining participant should connect to:
//
//  1. the least utilized healthy node in the participant's region;
//  2. else the room's origin, if it is alive and healthy (no extra hop);
//  3. else the least utilized healthy node anywhere;
//  4. else the origin even if busy (a busy lesson beats no lesson);
//
// Ties break on node id so every node makes the same choice. Draining nodes
// are never chosen. It returns ErrNoNodes when nothing fits.
func ChooseEdge(nodes []NodeInfo, req EdgeRequest) (NodeInfo, error) {
	limit := req.MaxUtilization
	if limit == 0 {
		limit = 0.9
	}
	healthy := func(n NodeInfo) bool { return !n.Draining && n.Utilization() < limit }

	if req.Region != "" {
		if n, ok := leastUtilized(nodes, func(n NodeInfo) bool { return n.Region == req.Region && healthy(n) }); ok {
			return n, nil
		}
	}
	origin, haveOrigin := findNode(nodes, req.OriginID)
	if haveOrigin && healthy(origin) {
		return origin, nil
	}
	if n, ok := leastUtilized(nodes, healthy); ok {
		return n, nil
	}
	if haveOrigin && !origin.Draining {
		return origin, nil
	}
	return NodeInfo{}, ErrNoNodes
}

func leastUtilized(nodes []NodeInfo, keep func(NodeInfo) bool) (NodeInfo, bool) {
	var best NodeInfo
	found := false
	for _, n := range nodes {
		if !keep(n) {
			continue
		}
		if !found || less(n, best) {
			best, found = n, true
		}
	}
	return best, found
}

func less(a, b NodeInfo) bool {
	ua, ub := a.Utilization(), b.Utilization()
	if ua != ub {
		return ua < ub
	}
	if a.Load.Participants != b.Load.Participants {
		return a.Load.Participants < b.Load.Participants
	}
	return a.ID < b.ID
}

func findNode(nodes []NodeInfo, id string) (NodeInfo, bool) {
	if id == "" {
		return NodeInfo{}, false
	}
	for _, n := range nodes {
		if n.ID == id {
			return n, true
		}
	}
	return NodeInfo{}, false
}
