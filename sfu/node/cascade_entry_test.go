package node

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/sfu/cluster"
)

// ghostNode registers a node in the directory whose signaling port
// refuses connections: a node that died before its registration expired.
func ghostNode(t *testing.T, natsURL, id, region string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "ws://" + ln.Addr().String()
	_ = ln.Close()
	nc, err := cluster.Connect(natsURL, id)
	if err != nil {
		t.Fatal(err)
	}
	d, err := cluster.Open(context.Background(), nc, cluster.Config{
		Self: cluster.NodeInfo{ID: id, Region: region, SignalingURL: dead, CascadeAddr: "127.0.0.1:9"},
		// It heartbeats like the test's nodes, so it stays listed.
		HeartbeatInterval: 250 * time.Millisecond, Logger: testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(); nc.Close() })
}

func connectURL(t *testing.T, ctx context.Context, url, roomName, identity string, opts ...client.Option) *client.Room {
	t.Helper()
	opts = append([]client.Option{client.WithAPI(loopbackAPI(t)), client.WithLogger(testLogger())}, opts...)
	r, err := client.Connect(ctx, url, token(t, roomName, identity, nil), opts...)
	if err != nil {
		t.Fatalf("%s connect via %s: %v", identity, url, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func servedBy(r *client.Room) string { return r.JoinResponse().GetServerInfo().GetNodeId() }

// TestClusterEntryRouting: clients given ws://origin/cluster[/<region>]
// land on a live node chosen by the directory: a registered node that
// refuses connections is skipped, a region's participant goes to that
// region, a region-less one to the room's origin. A resume goes back to
// the node holding the session (even though another node is now less
// loaded), and when a node leaves the registry its proxied sessions are
// cut, so its clients rejoin elsewhere through the same URL.
func TestClusterEntryRouting(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	nats := testNATS(t)
	origin := startClusterNode(t, nats, "origin", "beijing", nil)
	edgeA := startClusterNode(t, nats, "edge-a", "gansu", nil)
	startClusterNode(t, nats, "edge-b", "gansu", nil)
	// Sorted before edge-a: with equal loads ChooseEdge picks it first.
	ghostNode(t, nats, "edge-0", "gansu")
	waitFor(t, 10*time.Second, "directory lists four nodes", func() bool { return len(origin.cascade.dir.Nodes()) == 4 })

	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	teacher := connect(t, ctx, origin, "lesson", "teacher", nil)
	publishLesson(t, ctx, &pumps, teacher)
	waitParticipant(t, origin, "lesson", "teacher")

	var resumed, rejoined atomic.Int32
	class := connectURL(t, ctx, origin.URL()+"/cluster/gansu", "lesson", "class-a", client.WithAutoDrain(),
		client.WithCallbacks(client.Callbacks{OnReconnected: func(full bool) {
			if full {
				rejoined.Add(1)
			} else {
				resumed.Add(1)
			}
		}}))
	if got := servedBy(class); got != "edge-a" {
		t.Fatalf("class-a served by %q, want edge-a (edge-0 refuses connections)", got)
	}
	waitFor(t, 20*time.Second, "class-a decoding through edge-a", func() bool {
		vt := videoTrack(class)
		return vt != nil && vt.Stats().Keyframes > 0
	})
	observer := connectURL(t, ctx, origin.URL()+"/cluster", "lesson", "observer")
	if got := servedBy(observer); got != "origin" {
		t.Errorf("region-less observer served by %q, want the room's origin", got)
	}

	// edge-a now carries class-a and the teacher's mirror, edge-b nothing:
	// a fresh choice would be edge-b; the resume must still reach edge-a.
	waitFor(t, 10*time.Second, "edge-a's load in the directory", func() bool {
		for _, n := range origin.cascade.dir.Nodes() {
			if n.ID == "edge-a" {
				return n.Load.Participants > 0
			}
		}
		return false
	})
	class.SimulateDrop()
	waitFor(t, 15*time.Second, "class-a resumed", func() bool { return resumed.Load() > 0 })
	if rejoined.Load() != 0 || servedBy(class) != "edge-a" {
		t.Fatalf("resume went elsewhere: rejoined %d, served by %s", rejoined.Load(), servedBy(class))
	}

	// edge-a leaves the registry (its directory stops; the process lives
	// on): the entry cuts class-a's session and class-a rejoins on edge-b.
	left := time.Now()
	edgeA.cascade.dir.Close()
	waitFor(t, 20*time.Second, "class-a rejoined", func() bool { return rejoined.Load() > 0 })
	waitFor(t, 20*time.Second, "class-a decoding through edge-b", func() bool {
		vt := videoTrack(class)
		return vt != nil && vt.Stats().Keyframes > 0 && vt.Stats().Packets > 10
	})
	t.Logf("edge-a left the registry: class-a decoding through %s after %v", servedBy(class), time.Since(left).Round(time.Millisecond))
	if got := servedBy(class); got != "edge-b" {
		t.Fatalf("class-a served by %q after edge-a left, want edge-b", got)
	}
}

func TestParseEntryPath(t *testing.T) {
	for _, c := range []struct {
		in, region, sub string
		ok              bool
	}{
		{"/cluster/rtc", "", "rtc", true},
		{"/cluster/rtc/validate", "", "rtc/validate", true},
		{"/cluster/gansu/rtc", "gansu", "rtc", true},
		{"/cluster/gansu/rtc/v1", "gansu", "rtc/v1", true},
		{"/cluster/east%20asia/rtc", "east asia", "rtc", true},
		{"/cluster/gansu", "", "", false},
		{"/cluster/gansu/other", "", "", false},
		{"/cluster/", "", "", false},
		{"/rtc", "", "", false},
	} {
		region, sub, ok := parseEntryPath(c.in)
		if region != c.region || sub != c.sub || ok != c.ok {
			t.Errorf("parseEntryPath(%q) = %q, %q, %v; want %q, %q, %v", c.in, region, sub, ok, c.region, c.sub, c.ok)
		}
	}
}
