package node

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/sfu/cascade/cascadetest"
	"github.com/classcast/classcast/sfu/cluster"
)

const testClusterSecret = "classcast-cascade-test-secret-0123"

// testNATS is one embedded NATS server the test's nodes share.
func testNATS(t testing.TB) string {
	t.Helper()
	es, err := cluster.StartEmbedded(cluster.EmbeddedOptions{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(es.Shutdown)
	return es.ClientURL()
}

// startClusterNode runs a cascade-enabled node on free loopback ports.
// parent is a static parent node (nil: pull from the origin).
func startClusterNode(t testing.TB, natsURL, id, region string, parent *Node) *Node {
	t.Helper()
	return startNodeWith(t, func(c *Config) {
		c.NodeID, c.Region = id, region
		c.RTC.NoCongestionControl = true
		c.Cascade.Enabled = true
		c.Cascade.NATSURL = natsURL
		c.Cascade.Addr = "127.0.0.1:0"
		c.Cascade.Secret = testClusterSecret
		c.Cascade.Heartbeat = 250 * time.Millisecond
		c.Cascade.EdgeIdle = 2 * time.Second
		if parent != nil {
			c.Cascade.Parent = parent.CascadeAddr()
		}
	})
}

// TestCascadeSimulcastThreeLevels: a teacher publishes VP8 simulcast +
// Opus on the origin; classrooms on two edges and on a county edge below
// one of them (three levels) see the same participant and track SIDs as on
// the origin and receive decodable video of the layer each asked for.
func TestCascadeSimulcastThreeLevels(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	nats := testNATS(t)
	origin := startClusterNode(t, nats, "origin", "beijing", nil)
	edgeA := startClusterNode(t, nats, "edge-a", "gansu", nil)
	edgeB := startClusterNode(t, nats, "edge-b", "yunnan", nil)
	county := startClusterNode(t, nats, "county-a1", "gansu", edgeA)

	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()

	teacher := connect(t, ctx, origin, "lesson", "teacher", nil)
	publishLesson(t, ctx, &pumps, teacher)
	originPart := waitParticipant(t, origin, "lesson", "teacher")

	want := []struct {
		node *Node
		id   string
		q    livekit.VideoQuality
		w    int
	}{
		{edgeA, "class-a-low", livekit.VideoQuality_LOW, 320},
		{edgeB, "class-b-high", livekit.VideoQuality_HIGH, 1280},
		{county, "class-c-mid", livekit.VideoQuality_MEDIUM, 640},
	}
	rooms := make([]*client.Room, len(want))
	for i, w := range want {
		rooms[i] = connect(t, ctx, w.node, "lesson", w.id, nil, client.WithAutoDrain())
	}
	for i, w := range want {
		r := rooms[i]
		waitFor(t, 15*time.Second, w.id+" sees the teacher's tracks", func() bool {
			return videoTrack(r) != nil && audioTrack(r) != nil
		})
		p := r.Participant("teacher")
		if p == nil || p.Info.Sid != originPart.Sid {
			t.Fatalf("%s: teacher participant %v, want SID %s as on the origin", w.id, p, originPart.Sid)
		}
		if vt := videoTrack(r); vt.SID != originVideoSID(originPart) {
			t.Fatalf("%s: video track SID %s, want %s", w.id, vt.SID, originVideoSID(originPart))
		}
		if err := videoTrack(r).SetSettings(client.TrackSettings{Quality: w.q}); err != nil {
			t.Fatal(err)
		}
	}
	for i, w := range want {
		r := rooms[i]
		waitFor(t, 15*time.Second, w.id+" receiving its layer", func() bool {
			s := videoTrack(r).Stats()
			return s.Width == w.w && s.Keyframes > 0
		})
		waitFor(t, 5*time.Second, w.id+" audio", func() bool { return audioTrack(r).Stats().Packets > 0 })
	}
}

func waitParticipant(t testing.TB, n *Node, roomName, identity string) *livekit.ParticipantInfo {
	t.Helper()
	var info *livekit.ParticipantInfo
	waitFor(t, 10*time.Second, identity+" publishing on "+n.cfg.NodeID, func() bool {
		r, ok := n.Rooms().Get(roomName)
		if !ok {
			return false
		}
		for _, p := range r.Participants() {
			if p.Identity == identity && len(p.Tracks) >= 2 {
				info = p
				return true
			}
		}
		return false
	})
	return info
}

func originVideoSID(p *livekit.ParticipantInfo) string {
	for _, t := range p.Tracks {
		if t.Type == livekit.TrackType_VIDEO {
			return t.Sid
		}
	}
	return ""
}

// dataLog collects data messages a client receives.
type dataLog struct {
	mu   sync.Mutex
	msgs map[string]string // payload → sender identity
}

func (d *dataLog) on(m client.DataMessage) {
	d.mu.Lock()
	d.msgs[string(m.Payload)] = m.SenderIdentity
	d.mu.Unlock()
}

func (d *dataLog) from(payload string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.msgs[payload]
	return s, ok
}

// TestCascadeDataAndUplink: data packets flow origin → edges and edge →
// origin → other edge with the sender's identity; a classroom's camera
// published on its edge reaches the master on the origin (uplink), pulled
// only once the master subscribes.
func TestCascadeDataAndUplink(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	nats := testNATS(t)
	origin := startClusterNode(t, nats, "origin", "beijing", nil)
	edgeA := startClusterNode(t, nats, "edge-a", "gansu", nil)
	edgeB := startClusterNode(t, nats, "edge-b", "yunnan", nil)

	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()

	logs := map[string]*dataLog{}
	cb := func(id string) client.Option {
		logs[id] = &dataLog{msgs: map[string]string{}}
		return client.WithCallbacks(client.Callbacks{OnData: logs[id].on})
	}
	master := connect(t, ctx, origin, "lesson", "master", nil, cb("master"), client.WithAutoDrain())
	publishLesson(t, ctx, &pumps, master)
	waitParticipant(t, origin, "lesson", "master")
	classA := connect(t, ctx, edgeA, "lesson", "class-a", nil, cb("class-a"), client.WithAutoDrain())
	classB := connect(t, ctx, edgeB, "lesson", "class-b", nil, cb("class-b"), client.WithAutoDrain())

	// Everyone sees everyone, across nodes.
	waitFor(t, 10*time.Second, "participants visible across nodes", func() bool {
		return master.Participant("class-a") != nil && master.Participant("class-b") != nil &&
			classA.Participant("class-b") != nil && classB.Participant("class-a") != nil &&
			classA.Participant("master") != nil
	})
	send := func(r *client.Room, payload string) {
		t.Helper()
		if err := r.SendData(ctx, []byte(payload), client.Reliable, nil, "chat"); err != nil {
			t.Fatal(err)
		}
	}
	send(master, "from master")
	send(classA, "from class-a")
	for _, c := range []struct{ to, payload, sender string }{
		{"class-a", "from master", "master"}, {"class-b", "from master", "master"},
		{"master", "from class-a", "class-a"}, {"class-b", "from class-a", "class-a"},
	} {
		waitFor(t, 5*time.Second, c.to+" gets "+c.payload, func() bool {
			s, ok := logs[c.to].from(c.payload)
			return ok && s == c.sender
		})
	}

	// Uplink: class-a publishes its camera on edge-a.
	cam, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "class-a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := classA.PublishTrack(ctx, cam, client.PublishOptions{Name: "class-camera", Source: livekit.TrackSource_CAMERA}); err != nil {
		t.Fatal(err)
	}
	pump(t, ctx, &pumps, testdata+"vp8_180p.ivf", cam)
	waitFor(t, 15*time.Second, "master receives class-a's camera from edge-a", func() bool {
		for _, tr := range master.RemoteTracks() {
			if tr.Kind.String() == "video" && tr.Info().GetName() == "class-camera" {
				s := tr.Stats()
				return s.Keyframes > 0 && s.Width == 320
			}
		}
		return false
	})
	waitFor(t, 15*time.Second, "class-b receives class-a's camera via the origin", func() bool {
		for _, tr := range classB.RemoteTracks() {
			if tr.Info().GetName() == "class-camera" {
				return tr.Stats().Keyframes > 0
			}
		}
		return false
	})
}

// TestCascadeOneCopyPerChild: 40 classrooms over two edges (edge-a's ask
// for low and medium, edge-b's for low only). The origin sends each edge
// at most one copy of each layer that edge needs (packets queued per child
// and layer ≤ packets received on that layer) and nothing of layers no
// subscriber there needs.
func TestCascadeOneCopyPerChild(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	nats := testNATS(t)
	origin := startClusterNode(t, nats, "origin", "beijing", nil)
	edges := []*Node{startClusterNode(t, nats, "edge-a", "gansu", nil), startClusterNode(t, nats, "edge-b", "yunnan", nil)}

	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	teacher := connect(t, ctx, origin, "lesson", "teacher", nil)
	publishLesson(t, ctx, &pumps, teacher)
	info := waitParticipant(t, origin, "lesson", "teacher")

	const perEdge = 20
	var mu sync.Mutex
	subs := map[*client.Room]int{} // room → width it asked for
	var wg sync.WaitGroup
	for e, edge := range edges {
		for i := range perEdge {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := connect(t, ctx, edge, "lesson", fmt.Sprintf("class-%d-%02d", e, i), nil, client.WithAutoDrain())
				q, width := livekit.VideoQuality_LOW, 320
				if e == 0 && i%2 == 1 {
					q, width = livekit.VideoQuality_MEDIUM, 640
				}
				waitFor(t, 20*time.Second, "video track", func() bool { return videoTrack(r) != nil })
				_ = videoTrack(r).SetSettings(client.TrackSettings{Quality: q})
				mu.Lock()
				subs[r] = width
				mu.Unlock()
			}()
		}
		wg.Wait() // one edge at a time: 2 shared cores
	}
	// Switching down waits for the file publisher's next keyframe.
	waitFor(t, 25*time.Second, "every classroom decoding the layer it asked for", func() bool {
		for r, width := range subs {
			if s := videoTrack(r).Stats(); s.Keyframes == 0 || s.Width != width {
				return false
			}
		}
		return true
	})
	time.Sleep(layerHoldSettle) // layers asked for before the settings are released

	r, _ := origin.Rooms().Get("lesson")
	p, _ := r.Participant("teacher")
	up, _ := p.UpTrack(originVideoSID(info))
	counts := func() (recv [3]uint64, sent map[string][3]uint64) {
		sent = map[string][3]uint64{}
		for l := range 3 {
			recv[l] = up.LayerPackets(l)
		}
		for _, c := range origin.cascade.srv.LayerCounts() {
			if c.Track == up.Info().SID {
				v := sent[c.Child]
				v[c.Layer] = c.Packets
				sent[c.Child] = v
			}
		}
		return recv, sent
	}
	r0, s0 := counts()
	time.Sleep(3 * time.Second)
	r1, s1 := counts()
	need := map[string][3]bool{"edge-a": {true, true, false}, "edge-b": {true, false, false}}
	for child, layers := range need {
		for l := range 3 {
			dr, ds := r1[l]-r0[l], s1[child][l]-s0[child][l]
			t.Logf("%s layer %d: origin received %d, sent to child %d", child, l, dr, ds)
			if ds > dr+10 { // +10: the two counters are read a few packets apart
				t.Errorf("%s layer %d: %d packets sent for %d received: more than one copy", child, l, ds, dr)
			}
			if layers[l] && ds < dr*9/10 {
				t.Errorf("%s layer %d: needed but only %d of %d packets sent", child, l, ds, dr)
			}
			if !layers[l] && ds != 0 {
				t.Errorf("%s layer %d: nobody there needs it, yet %d packets sent", child, l, ds)
			}
		}
	}
}

// layerHoldSettle outlasts room.layerHold (3 s) plus a cascade tick.
const layerHoldSettle = 3500 * time.Millisecond

// TestCascadeEdgeFailover: an edge dies; its classroom reconnects to the
// other edge and receives the lesson again within 5 s.
func TestCascadeEdgeFailover(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	nats := testNATS(t)
	origin := startClusterNode(t, nats, "origin", "beijing", nil)
	edgeA := startClusterNode(t, nats, "edge-a", "gansu", nil)
	edgeB := startClusterNode(t, nats, "edge-b", "gansu", nil)

	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	teacher := connect(t, ctx, origin, "lesson", "teacher", nil)
	publishLesson(t, ctx, &pumps, teacher)
	waitParticipant(t, origin, "lesson", "teacher")
	other := connect(t, ctx, edgeB, "lesson", "class-b", nil, client.WithAutoDrain())
	waitFor(t, 15*time.Second, "class-b decoding on edge-b", func() bool {
		vt := videoTrack(other)
		return vt != nil && vt.Stats().Keyframes > 0
	})
	classA := connect(t, ctx, edgeA, "lesson", "class-a", nil, client.WithAutoDrain(), client.WithoutReconnect())
	waitFor(t, 15*time.Second, "class-a decoding on edge-a", func() bool {
		vt := videoTrack(classA)
		return vt != nil && vt.Stats().Keyframes > 0
	})

	killed := time.Now()
	ctxClose, cancelClose := context.WithTimeout(context.Background(), 5*time.Second)
	_ = edgeA.Close(ctxClose)
	cancelClose()
	_ = classA.Close()
	// The client's next URL (its list, or a load balancer) is edge-b.
	again := connect(t, ctx, edgeB, "lesson", "class-a", nil, client.WithAutoDrain())
	// The target is ≤ 5 s (logged; benchmarks report it); the bound here
	// only keeps a loaded CI box from failing a working failover.
	waitFor(t, 20*time.Second, "class-a decoding again on edge-b", func() bool {
		vt := videoTrack(again)
		return vt != nil && vt.Stats().Keyframes > 0 && vt.Stats().Packets > 10
	})
	took := time.Since(killed)
	t.Logf("media again %v after the edge died (target ≤ 5s)", took)
	// The origin forgets the dead edge's mirror of class-a only if the
	// new one did not replace it already; either way class-a is one.
	waitFor(t, 15*time.Second, "origin sees class-a once, via edge-b", func() bool {
		r, _ := origin.Rooms().Get("lesson")
		n := 0
		for _, p := range r.Participants() {
			if p.Identity == "class-a" {
				n++
			}
		}
		return n == 1
	})
}

// TestCascadeLossyLink: the edge reaches the origin through a relay that
// drops datagrams each way and delays them. NACKs on the cascade's media
// plane, answered from the origin's layer cache, keep unrecovered loss seen
// by the edge's classroom under 1% for the low layer plus audio. The default
// is issue 4's requirement, 10% loss and 100 ms each way (it failed while
// media rode QUIC datagrams under quic-go's loss-based congestion window,
// sfu/cascade/RESULTS.md); CASCADE_LOSS and CASCADE_DELAY override it, e.g.
// CASCADE_LOSS=0.01 CASCADE_DELAY=50ms.
func TestCascadeLossyLink(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	nats := testNATS(t)
	origin := startClusterNode(t, nats, "origin", "beijing", nil)
	relay, err := cascadetest.NewLossyRelay(origin.CascadeAddr(), lossyLinkLoss(), lossyLinkDelay(), 7)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	edge := startNodeWith(t, func(c *Config) {
		c.NodeID, c.RTC.NoCongestionControl = "edge-lossy", true
		c.Cascade = CascadeConfig{Enabled: true, NATSURL: nats, Addr: "127.0.0.1:0", Secret: testClusterSecret,
			Heartbeat: 250 * time.Millisecond, Parent: relay.Addr()}
	})

	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	teacher := connect(t, ctx, origin, "lesson", "teacher", nil)
	publishLesson(t, ctx, &pumps, teacher)
	waitParticipant(t, origin, "lesson", "teacher")

	m := &lossMeter{seen: map[string]map[uint16]bool{}}
	class := connect(t, ctx, edge, "lesson", "class", nil, client.WithAutoDrain(), client.WithCallbacks(client.Callbacks{OnRTP: m.onRTP}))
	waitFor(t, 20*time.Second, "class subscribed", func() bool { return videoTrack(class) != nil && audioTrack(class) != nil })
	if err := videoTrack(class).SetSettings(client.TrackSettings{Quality: livekit.VideoQuality_LOW}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "low layer through the lossy link", func() bool {
		s := videoTrack(class).Stats()
		return s.Width == 320 && s.Keyframes > 0
	})
	time.Sleep(layerHoldSettle)
	m.start()
	time.Sleep(10 * time.Second)
	m.stop()
	time.Sleep(time.Second) // retransmissions of the window's last packets
	dropped, passed := relay.Stats()
	packets, gaps, where := m.resultDetail()
	rate := float64(gaps) / float64(packets+gaps)
	if gaps > 0 {
		t.Logf("never received, per track: %v", where)
	}
	t.Logf("relay dropped %d of %d datagrams; classroom got %d distinct packets in the window, %d never arrived (%.2f%%); origin send %+v, NACK packets %+v",
		dropped, dropped+passed, packets, gaps, 100*rate, origin.cascade.srv.Stats(), origin.cascade.srv.PlaneStats())
	if packets < 300 {
		t.Fatalf("only %d packets in 10 s", packets)
	}
	if rate >= 0.01 {
		t.Fatalf("unrecovered loss %.2f%% ≥ 1%%", 100*rate)
	}
}

func lossyLinkLoss() float64 {
	if v, err := strconv.ParseFloat(os.Getenv("CASCADE_LOSS"), 64); err == nil {
		return v
	}
	return 0.10
}

func lossyLinkDelay() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("CASCADE_DELAY")); err == nil {
		return d
	}
	return 100 * time.Millisecond
}

// lossMeter counts, per track, the distinct sequence numbers between the
// first and last packet seen while measuring, and those never received.
type lossMeter struct {
	mu       sync.Mutex
	on, done bool
	seen     map[string]map[uint16]bool
	first    map[string]uint16
	last     map[string]uint16
}

func (m *lossMeter) start() {
	m.mu.Lock()
	m.on, m.first, m.last = true, map[string]uint16{}, map[string]uint16{}
	m.mu.Unlock()
}

func (m *lossMeter) stop() {
	m.mu.Lock()
	m.done = true
	m.mu.Unlock()
}

func (m *lossMeter) onRTP(t *client.RemoteTrack, p *rtp.Packet) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.on {
		return
	}
	set := m.seen[t.SID]
	if set == nil {
		set = map[uint16]bool{}
		m.seen[t.SID] = set
		m.first[t.SID], m.last[t.SID] = p.SequenceNumber, p.SequenceNumber
	}
	if !m.done && int16(p.SequenceNumber-m.last[t.SID]) > 0 {
		m.last[t.SID] = p.SequenceNumber
	}
	set[p.SequenceNumber] = true
}

// resultDetail also lists, per track, the sequence numbers never received.
func (m *lossMeter) resultDetail() (got, missing int, gaps map[string][]uint16) {
	m.mu.Lock()
	defer m.mu.Unlock()
	gaps = map[string][]uint16{}
	for sid, set := range m.seen {
		for s := m.first[sid]; ; s++ {
			if set[s] {
				got++
			} else {
				missing++
				gaps[sid] = append(gaps[sid], s)
			}
			if s == m.last[sid] {
				break
			}
		}
	}
	return got, missing, gaps
}
