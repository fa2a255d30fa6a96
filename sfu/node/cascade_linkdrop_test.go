package node

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"go.uber.org/goleak"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/sfu/cascade/cascadetest"
)

// rtpClock records when a classroom last got a video packet and the
// longest gap between two of them.
type rtpClock struct {
	mu      sync.Mutex
	last    time.Time
	longest time.Duration
	packets int
}

func (c *rtpClock) onRTP(t *client.RemoteTrack, _ *rtp.Packet) {
	if t.Kind.String() != "video" {
		return
	}
	now := time.Now()
	c.mu.Lock()
	if !c.last.IsZero() {
		c.longest = max(c.longest, now.Sub(c.last))
	}
	c.last = now
	c.packets++
	c.mu.Unlock()
}

func (c *rtpClock) snapshot() (last time.Time, longest time.Duration, packets int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last, c.longest, c.packets
}

// edgeLinkUp reports whether the edge's parent link is connected.
func edgeLinkUp(n *Node, addr string) bool {
	n.cascade.mu.Lock()
	l := n.cascade.links[addr]
	n.cascade.mu.Unlock()
	return l != nil && l.Connected()
}

// TestCascadeLinkDropFreezesNotDisconnects: the edge reaches the origin
// through a relay; the relay goes black until the QUIC link times out
// (network outage). The link re-establishes by itself once the path is
// back, and the edge's classroom sees a freeze — the same participant and
// track, no signal drop, no reconnect — then video again.
func TestCascadeLinkDropFreezesNotDisconnects(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	nats := testNATS(t)
	origin := startClusterNode(t, nats, "origin", "beijing", nil)
	relay, err := cascadetest.NewLossyRelay(origin.CascadeAddr(), 0, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	edge := startNodeWith(t, func(c *Config) {
		c.NodeID, c.Region, c.RTC.NoCongestionControl = "edge-relayed", "gansu", true
		c.Cascade = CascadeConfig{Enabled: true, NATSURL: nats, Addr: "127.0.0.1:0", Secret: testClusterSecret,
			Heartbeat: 250 * time.Millisecond, EdgeIdle: 2 * time.Second, Parent: relay.Addr()}
	})

	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	teacher := connect(t, ctx, origin, "lesson", "teacher", nil)
	publishLesson(t, ctx, &pumps, teacher)
	info := waitParticipant(t, origin, "lesson", "teacher")

	clock := &rtpClock{}
	var signalDrops, disconnects atomic.Int32
	class := connect(t, ctx, edge, "lesson", "class", nil, client.WithAutoDrain(), client.WithCallbacks(client.Callbacks{
		OnRTP:          clock.onRTP,
		OnReconnecting: func(error) { signalDrops.Add(1) },
		OnParticipantDisconnected: func(p *client.RemoteParticipant) {
			if p.Identity() == "teacher" {
				disconnects.Add(1)
			}
		},
	}))
	waitFor(t, 20*time.Second, "classroom decoding through the relay", func() bool {
		vt := videoTrack(class)
		return vt != nil && vt.Stats().Keyframes > 0
	})
	before := videoTrack(class)

	blackout := time.Now()
	relay.SetLoss(1)
	// QUIC's idle timeout (5 s) is the dead-link detector; allow for a
	// loaded machine.
	waitFor(t, 30*time.Second, "edge notices its parent link is gone", func() bool {
		return !edgeLinkUp(edge, relay.Addr())
	})
	down := time.Since(blackout)
	keyframes := before.Stats().Keyframes
	relay.SetLoss(0)
	restored := time.Now()
	waitFor(t, 30*time.Second, "link re-established", func() bool { return edgeLinkUp(edge, relay.Addr()) })
	relinked := time.Since(restored)
	waitFor(t, 30*time.Second, "a keyframe after the link came back", func() bool {
		last, _, _ := clock.snapshot()
		return last.After(restored) && videoTrack(class) != nil && videoTrack(class).Stats().Keyframes > keyframes
	})
	_, longest, packets := clock.snapshot()
	t.Logf("link declared down %v into the blackout; re-linked %v and video again %v after the path came back; "+
		"longest video gap %v (%d packets in all)", down.Round(time.Millisecond), relinked.Round(time.Millisecond),
		time.Since(restored).Round(time.Millisecond), longest.Round(time.Millisecond), packets)

	if n := signalDrops.Load(); n != 0 {
		t.Errorf("classroom's signal connection dropped %d times", n)
	}
	if n := disconnects.Load(); n != 0 {
		t.Errorf("classroom saw the teacher leave %d times", n)
	}
	after := videoTrack(class)
	if after != before || after.SID != originVideoSID(info) {
		t.Errorf("video track replaced (%s → %s): a resubscription, not a freeze", before.SID, after.SID)
	}
	if p := class.Participant("teacher"); p == nil || p.Info.Sid != info.Sid {
		t.Errorf("teacher participant %v, want SID %s", p, info.Sid)
	}
}
