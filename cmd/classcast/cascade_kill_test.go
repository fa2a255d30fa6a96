package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/client-sdk/go/media"
	"github.com/classcast/classcast/sfu/cluster"
)

const killTestSecret = "classcast-kill-test-cluster-secret"

// lockedLog collects a child process's stderr for failure messages.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) add(s string) {
	l.mu.Lock()
	l.b.WriteString(s + "\n")
	l.mu.Unlock()
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// clusterProc is one `classcast serve` process of a test cluster.
type clusterProc struct {
	id  string
	cmd *exec.Cmd
	url string // ws://host:port of the node itself
	log *lockedLog
}

// startClusterProc runs the real binary as cluster member id on loopback
// with free ports, joined to the test's NATS.
func startClusterProc(t *testing.T, natsURL, id, region string) *clusterProc {
	t.Helper()
	cmd := exec.Command(classcastBinary(t), "serve", "--dev", "--port", "0", "--udp-port", "0", "--tcp-port", "0",
		"--rtsp-port", "-1", "--data-dir", t.TempDir(), "--region", region, "--nats-url", natsURL,
		"--cascade-addr", "0", "--cluster-secret", killTestSecret, "--log-level", "debug")
	cmd.Env = append(os.Environ(), "CLASSCAST_NODE_ID="+id)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &clusterProc{id: id, cmd: cmd, log: &lockedLog{}}
	readerDone := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		<-readerDone
		if t.Failed() || os.Getenv("CLASSCAST_TEST_LOGS") != "" {
			t.Logf("--- log of %s ---\n%s", id, p.log.String())
		}
	})
	ready := make(chan string, 1)
	go func() {
		defer close(readerDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.log.add(sc.Text())
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
			}
		}
	}()
	select {
	case addr := <-ready:
		p.url = "ws://" + addr
	case <-time.After(30 * time.Second):
		t.Fatalf("%s not ready:\n%s", id, p.log.String())
	}
	return p
}

func killTestToken(t *testing.T, identity string, publish bool) string {
	t.Helper()
	g := &auth.VideoGrant{RoomJoin: true, Room: "lesson"}
	g.SetCanPublish(publish)
	g.SetCanPublishData(publish)
	jwt, err := auth.NewAccessToken("devkey", "secret").SetIdentity(identity).SetValidFor(time.Hour).
		SetVideoGrant(g).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

func loopbackClientAPI(t *testing.T) *client.API {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	a, err := client.NewAPI(client.APIConfig{SettingEngine: &se})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
	return 0
}

func decodingVideo(r *client.Room) bool {
	for _, tr := range r.RemoteTracks() {
		if s := tr.Stats(); tr.Kind == webrtc.RTPCodecTypeVideo && s.Keyframes > 0 && s.Packets > 10 {
			return true
		}
	}
	return false
}

func servingNode(r *client.Room) string { return r.JoinResponse().GetServerInfo().GetNodeId() }

// TestKillEdgeClientMovesToLiveEdge: three real `classcast serve`
// processes (origin in beijing, edge-a and edge-b in gansu) share one NATS.
// A teacher publishes on the origin; a classroom is given the cluster entry
// URL ws://origin/cluster/gansu, which routes it to edge-a. edge-a is killed
// with SIGKILL (no goodbye, no deregistration). The classroom's client
// reconnects to the same URL, the entry skips the dead node, and the
// classroom receives the teacher's video again through edge-b.
func TestKillEdgeClientMovesToLiveEdge(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	es, err := cluster.StartEmbedded(cluster.EmbeddedOptions{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(es.Shutdown)
	origin := startClusterProc(t, es.ClientURL(), "origin", "beijing")
	edgeA := startClusterProc(t, es.ClientURL(), "edge-a", "gansu")
	startClusterProc(t, es.ClientURL(), "edge-b", "gansu")

	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	api := loopbackClientAPI(t)

	teacher, err := client.Connect(ctx, origin.url, killTestToken(t, "teacher", true), client.WithAPI(api))
	if err != nil {
		t.Fatal(err)
	}
	defer teacher.Close()
	cam, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "teacher")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := teacher.PublishTrack(ctx, cam, client.PublishOptions{Name: "camera", Source: livekit.TrackSource_CAMERA}); err != nil {
		t.Fatal(err)
	}
	src, err := media.OpenFile("../../client-sdk/go/testdata/vp8_180p.ivf", 25)
	if err != nil {
		t.Fatal(err)
	}
	pumps.Add(1)
	go func() {
		defer pumps.Done()
		defer src.Close()
		_ = media.Pump(ctx, src, cam, nil)
	}()

	var reconnected atomic.Int32
	entryURL := origin.url + "/cluster/gansu"
	class, err := client.Connect(ctx, entryURL, killTestToken(t, "class-a", false), client.WithAPI(api), client.WithAutoDrain(),
		client.WithCallbacks(client.Callbacks{OnReconnected: func(full bool) {
			if full {
				reconnected.Add(1)
			}
		}}))
	if err != nil {
		t.Fatal(err)
	}
	defer class.Close()
	if got := servingNode(class); got != "edge-a" {
		t.Fatalf("the entry sent the classroom to %q, want edge-a", got)
	}
	took := waitUntil(t, 20*time.Second, "classroom decoding the teacher through edge-a", func() bool { return decodingVideo(class) })
	t.Logf("first video through edge-a after %v", took.Round(time.Millisecond))

	killed := time.Now()
	if err := edgeA.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	var rejoined time.Duration
	waitUntil(t, 20*time.Second, "classroom rejoined through the entry", func() bool {
		if reconnected.Load() == 0 {
			return false
		}
		if rejoined == 0 {
			rejoined = time.Since(killed)
		}
		return true
	})
	waitUntil(t, 20*time.Second, "classroom decoding the teacher again", func() bool { return decodingVideo(class) })
	back := time.Since(killed)
	t.Logf("edge-a killed: classroom rejoined after %v, video again after %v (target ≤ 5s)",
		rejoined.Round(time.Millisecond), back.Round(time.Millisecond))
	if got := servingNode(class); got != "edge-b" {
		t.Fatalf("after the kill the classroom is on %q, want edge-b", got)
	}
	if back > 5*time.Second {
		// Logged, not failed: a loaded 2-core machine must not flake CI.
		t.Logf("NOTE: video came back after %v, over the 5 s target", back)
	}
}

// TestKillOriginRoomMovesToNewOrigin: the origin process is killed with
// SIGKILL while a teacher publishes on it and a classroom watches through
// edge-a. Both were given cluster entry URLs on edge-b. The teacher's client
// rejoins through its URL and lands on a live node; once the dead origin's
// lease expires (no renewal for 5 heartbeats) that node claims the room,
// edge-a follows it, and the classroom — whose own connection never
// dropped — receives the teacher's video again.
func TestKillOriginRoomMovesToNewOrigin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	es, err := cluster.StartEmbedded(cluster.EmbeddedOptions{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(es.Shutdown)
	origin := startClusterProc(t, es.ClientURL(), "origin", "beijing")
	startClusterProc(t, es.ClientURL(), "edge-a", "gansu")
	edgeB := startClusterProc(t, es.ClientURL(), "edge-b", "gansu")

	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	api := loopbackClientAPI(t)

	var teacherBack atomic.Int32
	teacher, err := client.Connect(ctx, edgeB.url+"/cluster/beijing", killTestToken(t, "teacher", true), client.WithAPI(api),
		client.WithCallbacks(client.Callbacks{OnReconnected: func(full bool) {
			if full {
				teacherBack.Add(1)
			}
		}}))
	if err != nil {
		t.Fatal(err)
	}
	defer teacher.Close()
	if got := servingNode(teacher); got != "origin" {
		t.Fatalf("teacher routed to %q, want origin (the beijing node)", got)
	}
	cam, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "teacher")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := teacher.PublishTrack(ctx, cam, client.PublishOptions{Name: "camera", Source: livekit.TrackSource_CAMERA}); err != nil {
		t.Fatal(err)
	}
	src, err := media.OpenFile("../../client-sdk/go/testdata/vp8_180p.ivf", 25)
	if err != nil {
		t.Fatal(err)
	}
	pumps.Add(1)
	go func() {
		defer pumps.Done()
		defer src.Close()
		_ = media.Pump(ctx, src, cam, nil)
	}()

	var classDrops atomic.Int32
	class, err := client.Connect(ctx, edgeB.url+"/cluster/gansu", killTestToken(t, "class-a", false), client.WithAPI(api),
		client.WithAutoDrain(), client.WithCallbacks(client.Callbacks{OnReconnecting: func(error) { classDrops.Add(1) }}))
	if err != nil {
		t.Fatal(err)
	}
	defer class.Close()
	if got := servingNode(class); got != "edge-a" {
		t.Fatalf("classroom routed to %q, want edge-a", got)
	}
	waitUntil(t, 20*time.Second, "classroom decoding the teacher through edge-a", func() bool { return decodingVideo(class) })
	oldSID := ""
	for _, tr := range class.RemoteTracks() {
		oldSID = tr.SID
	}

	killed := time.Now()
	if err := origin.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "teacher rejoined through its entry URL", func() bool { return teacherBack.Load() > 0 })
	rejoined := time.Since(killed)
	newHome := servingNode(teacher)
	var again time.Duration
	waitUntil(t, 40*time.Second, "classroom decoding the teacher's republished video", func() bool {
		for _, tr := range class.RemoteTracks() {
			if s := tr.Stats(); tr.SID != oldSID && tr.Kind == webrtc.RTPCodecTypeVideo && s.Keyframes > 0 && s.Packets > 10 {
				again = time.Since(killed)
				return true
			}
		}
		return false
	})
	t.Logf("origin killed: teacher rejoined on %s after %v; classroom on edge-a decoding again after %v "+
		"(the dead origin's lease lasts 5 heartbeats = 5 s)", newHome, rejoined.Round(time.Millisecond), again.Round(time.Millisecond))
	if newHome == "origin" || newHome == "" {
		t.Fatalf("teacher rejoined on %q", newHome)
	}
	if n := classDrops.Load(); n != 0 {
		t.Errorf("classroom's own connection dropped %d times; its edge never died", n)
	}
}
