package cluster

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startNATS(t *testing.T, dir string, port int) *EmbeddedServer {
	t.Helper()
	s, err := StartEmbedded(EmbeddedOptions{DataDir: dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func connect(t *testing.T, url, name string) *nats.Conn {
	t.Helper()
	nc, err := Connect(url, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func openDir(t *testing.T, nc *nats.Conn, id, region string) *Directory {
	t.Helper()
	d, err := Open(context.Background(), nc, Config{
		Self:              NodeInfo{ID: id, Region: region, SignalingURL: "wss://" + id, CascadeAddr: id + ":7000"},
		HeartbeatInterval: 100 * time.Millisecond,
		NodeTTL:           600 * time.Millisecond,
		LeaseTTL:          600 * time.Millisecond,
		OpTimeout:         500 * time.Millisecond,
		Logger:            quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ids(nodes []NodeInfo) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.ID
	}
	return out
}

func TestRegistryHeartbeatsAndExpiry(t *testing.T) {
	srv := startNATS(t, t.TempDir(), 0)
	defer srv.Shutdown()
	a := openDir(t, connect(t, srv.ClientURL(), "a"), "a", "eu")
	ncB := connect(t, srv.ClientURL(), "b")
	b := openDir(t, ncB, "b", "us")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := a.Watch(ctx)
	eventually(t, "both see both nodes", func() bool { return len(a.Nodes()) == 2 && len(b.Nodes()) == 2 })
	if got := ids(b.Nodes()); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("b sees %v", got)
	}
	if n := a.Nodes()[1]; n.Region != "us" || n.CascadeAddr != "b:7000" {
		t.Fatalf("b announced %+v", n)
	}

	// b crashes: its connection dies without a goodbye.
	ncB.Close()
	eventually(t, "b expires from a's registry", func() bool { return len(a.Nodes()) == 1 })
	sawRemoval := false
	for !sawRemoval {
		select {
		case ev := <-events:
			sawRemoval = ev.Removed && ev.Node.ID == "b"
		case <-time.After(5 * time.Second):
			t.Fatal("no removal event for b")
		}
	}
}

func TestRegistryCarriesLoad(t *testing.T) {
	srv := startNATS(t, t.TempDir(), 0)
	defer srv.Shutdown()
	nc := connect(t, srv.ClientURL(), "a")
	parts := 0
	d, err := Open(context.Background(), nc, Config{
		Self:              NodeInfo{ID: "a"},
		LoadFunc:          func() Load { parts++; return Load{Participants: parts, Rooms: 1} },
		HeartbeatInterval: 50 * time.Millisecond, Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	eventually(t, "load updates", func() bool {
		n := d.Nodes()
		return len(n) == 1 && n[0].Load.Participants >= 3
	})
}

func TestOriginLeaseClaimRenewRelease(t *testing.T) {
	srv := startNATS(t, t.TempDir(), 0)
	defer srv.Shutdown()
	a := openDir(t, connect(t, srv.ClientURL(), "a"), "a", "eu")
	b := openDir(t, connect(t, srv.ClientURL(), "b"), "b", "eu")
	ctx := context.Background()
	room := "maths 7B / lesson #3" // arbitrary characters

	if _, err := a.Origin(ctx, room); !errors.Is(err, ErrNoOrigin) {
		t.Fatalf("origin of new room: %v", err)
	}
	la, err := a.ClaimOrigin(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := a.ClaimOrigin(ctx, room); err != nil || again != la {
		t.Fatalf("re-claim by holder: %v", err)
	}
	_, err = b.ClaimOrigin(ctx, room)
	var taken *OriginTakenError
	if !errors.As(err, &taken) || taken.Holder != "a" || !errors.Is(err, ErrOriginTaken) {
		t.Fatalf("b claimed a held room: %v", err)
	}
	// Well past LeaseTTL: renewals keep it with a.
	time.Sleep(1500 * time.Millisecond)
	if o, err := b.Origin(ctx, room); err != nil || o.NodeID != "a" {
		t.Fatalf("origin after renewals: %+v %v", o, err)
	}
	if _, err := b.ClaimOrigin(ctx, room); !errors.Is(err, ErrOriginTaken) {
		t.Fatalf("b claimed a renewed room: %v", err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	lb, err := b.ClaimOrigin(ctx, room)
	if err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	if o, ok := a.CachedOrigin(room); ok && o.NodeID == "a" {
		t.Fatalf("a still caches itself as origin")
	}
	if o, err := a.Origin(ctx, room); err != nil || o.NodeID != "b" {
		t.Fatalf("origin after move: %+v %v", o, err)
	}
	_ = lb
}

func TestOriginMovesWhenHolderDies(t *testing.T) {
	srv := startNATS(t, t.TempDir(), 0)
	defer srv.Shutdown()
	ncA := connect(t, srv.ClientURL(), "a")
	a := openDir(t, ncA, "a", "eu")
	b := openDir(t, connect(t, srv.ClientURL(), "b"), "b", "eu")
	ctx := context.Background()
	if _, err := a.ClaimOrigin(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	ncA.Close() // a dies
	start := time.Now()
	eventually(t, "b claims r1 after a's lease expires", func() bool {
		_, err := b.ClaimOrigin(ctx, "r1")
		return err == nil
	})
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Fatalf("room moved after %v, before the lease could expire", waited)
	}
	if o, err := b.Origin(ctx, "r1"); err != nil || o.NodeID != "b" {
		t.Fatalf("origin after move: %+v %v", o, err)
	}
	_ = a
}

func TestDirectoryChooseEdge(t *testing.T) {
	srv := startNATS(t, t.TempDir(), 0)
	defer srv.Shutdown()
	a := openDir(t, connect(t, srv.ClientURL(), "a"), "origin", "core")
	openDir(t, connect(t, srv.ClientURL(), "b"), "edge-eu", "eu")
	ctx := context.Background()
	eventually(t, "both nodes", func() bool { return len(a.Nodes()) == 2 })
	if _, err := a.ClaimOrigin(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	for region, want := range map[string]string{"eu": "edge-eu", "ap": "origin", "core": "origin"} {
		n, err := a.ChooseEdge(ctx, "r", region)
		if err != nil || n.ID != want {
			t.Fatalf("region %s: got %q %v, want %q", region, n.ID, err, want)
		}
	}
}

// TestNATSOutage stops the only NATS server mid-lesson: cached state keeps
// serving, new joins get ErrDirectoryUnavailable without blocking, and all
// comes back (with the lease still held) when NATS restarts on the same
// port and store.
func TestNATSOutage(t *testing.T) {
	dir := t.TempDir()
	srv := startNATS(t, dir, 0)
	port := srv.Port()
	a := openDir(t, connect(t, srv.ClientURL(), "a"), "a", "eu")
	b := openDir(t, connect(t, srv.ClientURL(), "b"), "b", "us")
	ctx := context.Background()
	eventually(t, "both nodes", func() bool { return len(a.Nodes()) == 2 && len(b.Nodes()) == 2 })
	lease, err := a.ClaimOrigin(ctx, "lesson")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Origin(ctx, "lesson"); err != nil {
		t.Fatal(err)
	}

	srv.Shutdown()
	eventually(t, "a and b notice", func() bool { return !a.Available() && !b.Available() })

	start := time.Now()
	if _, err := a.ChooseEdge(ctx, "lesson", "eu"); !errors.Is(err, ErrDirectoryUnavailable) {
		t.Fatalf("join during outage: %v", err)
	}
	if _, err := b.ClaimOrigin(ctx, "other"); !errors.Is(err, ErrDirectoryUnavailable) {
		t.Fatalf("claim during outage: %v", err)
	}
	if _, err := b.Origin(ctx, "lesson"); !errors.Is(err, ErrDirectoryUnavailable) {
		t.Fatalf("lookup during outage: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second { // a NATS request timeout would be longer
		t.Fatalf("refusals blocked for %v", d) // refusal must be immediate, not a timeout
	}
	if o, ok := b.CachedOrigin("lesson"); !ok || o.NodeID != "a" {
		t.Fatalf("cached origin during outage: %+v %v", o, ok)
	}
	if n := a.Nodes(); len(n) != 2 {
		t.Fatalf("cached registry during outage: %v", ids(n))
	}
	select {
	case <-lease.Lost():
		t.Fatal("lease lost during outage")
	default:
	}

	srv = startNATS(t, dir, port)
	defer srv.Shutdown()
	eventually(t, "a resyncs", a.Available)
	eventually(t, "joins work again", func() bool {
		n, err := a.ChooseEdge(ctx, "lesson", "us")
		return err == nil && n.ID == "b"
	})
	eventually(t, "a still origin", func() bool {
		o, err := b.Origin(ctx, "lesson")
		return err == nil && o.NodeID == "a"
	})
	select {
	case <-lease.Lost():
		t.Fatal("lease lost after outage")
	default:
	}
}
