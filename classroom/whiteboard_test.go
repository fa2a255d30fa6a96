package classroom_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/classcast/classcast/classroom"
)

// board is a client's reconstruction of the whiteboard from a snapshot.
type board struct {
	seq     float64
	current float64
	pages   map[string][]string // stroke ids in order
	parts   int
}

// lastSnapshot merges the newest complete snapshot p received.
func lastSnapshot(p *peer) (board, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.snapshots) == 0 {
		return board{}, false
	}
	last := p.snapshots[len(p.snapshots)-1]
	b := board{seq: last["seq"].(float64), current: last["current_page"].(float64), pages: map[string][]string{}}
	parts := 1
	if n, ok := last["parts"].(float64); ok {
		parts = int(n)
	}
	got := map[float64]bool{}
	for i := len(p.snapshots) - 1; i >= 0 && len(got) < parts; i-- {
		s := p.snapshots[i]
		if s["seq"].(float64) != b.seq {
			break
		}
		part := 1.0
		if n, ok := s["part"].(float64); ok {
			part = n
		}
		if got[part] {
			break
		}
		got[part] = true
		for page, strokes := range s["pages"].(map[string]any) {
			for _, st := range strokes.([]any) {
				b.pages[page] = append(b.pages[page], st.(map[string]any)["id"].(string))
			}
		}
	}
	if len(got) != parts {
		return board{}, false
	}
	b.parts = parts
	for page := range b.pages {
		sort.Strings(b.pages[page])
	}
	return b, true
}

func stroke(id string, points int) map[string]any {
	pts := make([][2]float64, points)
	for i := range pts {
		pts[i] = [2]float64{float64(i%100) / 100, float64(i%37) / 37}
	}
	return map[string]any{"id": id, "tool": "pen", "color": "#e11d48", "width": 3, "points": pts}
}

// TestWhiteboardLateJoinerAndReconnect: ordered, stored strokes reach a late
// joiner as a snapshot (in several parts when large), and a classroom that
// dropped its signaling or rejoined gets the full board again.
func TestWhiteboardLateJoinerAndReconnect(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	n := startNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	master := join(t, ctx, n.URL(), "wb", who{identity: "master", role: classroom.RoleMaster})
	early := join(t, ctx, n.URL(), "wb", who{identity: "display-a", role: classroom.RoleDisplay, classroom: "a"})
	waitFor(t, 5*time.Second, "empty snapshot at join", func() bool { _, ok := lastSnapshot(early); return ok })

	want := map[string][]string{}
	for i := 0; i < 40; i++ {
		page := i % 2
		id := fmt.Sprintf("s%02d", i)
		master.draw(map[string]any{"op": "stroke", "page": page, "stroke": stroke(id, 150)})
		want[fmt.Sprint(page)] = append(want[fmt.Sprint(page)], id)
	}
	master.draw(map[string]any{"op": "stroke", "page": 2, "stroke": stroke("gone", 3)})
	master.draw(map[string]any{"op": "clear", "page": 2})
	master.draw(map[string]any{"op": "undo", "page": 0, "stroke_id": "s00"})
	want["0"] = want["0"][1:]
	master.draw(map[string]any{"op": "page", "page": 1})
	const ops = 44

	// Everyone gets every op once, in seq order, with the author.
	waitFor(t, 10*time.Second, "ops at display-a", func() bool { early.mu.Lock(); defer early.mu.Unlock(); return len(early.board) == ops })
	early.mu.Lock()
	for i, op := range early.board {
		if op["seq"].(float64) != float64(i+1) || op["by"] != "master" {
			t.Errorf("op %d: seq %v by %v", i, op["seq"], op["by"])
		}
	}
	early.mu.Unlock()

	// Refusals: a classroom may not draw in a lesson; over 5,000 points.
	early.draw(map[string]any{"id": "wb-1", "op": "stroke", "page": 0, "stroke": stroke("x", 2)})
	big := stroke("big", 5001)
	pts := make([][2]int, 5001)
	big["points"] = pts // integer points keep the packet under 64 KiB
	master.draw(map[string]any{"id": "wb-2", "op": "stroke", "page": 0, "stroke": big})
	waitFor(t, 5*time.Second, "refusals", func() bool {
		early.mu.Lock()
		r1, ok1 := early.res["wb-1"]
		early.mu.Unlock()
		master.mu.Lock()
		r2, ok2 := master.res["wb-2"]
		master.mu.Unlock()
		return ok1 && ok2 && r1.Error == "not_allowed" && r2.Error == "bad_request"
	})

	check := func(p *peer, what string) board {
		t.Helper()
		var b board
		waitFor(t, 10*time.Second, what, func() bool {
			var ok bool
			b, ok = lastSnapshot(p)
			return ok && b.seq == ops
		})
		for page, ids := range want {
			sorted := append([]string(nil), ids...)
			sort.Strings(sorted)
			if fmt.Sprint(b.pages[page]) != fmt.Sprint(sorted) {
				t.Errorf("%s page %s: %v, want %v", what, page, b.pages[page], sorted)
			}
		}
		if len(b.pages["2"]) != 0 || b.current != 1 {
			t.Errorf("%s: cleared page %v, current page %v", what, b.pages["2"], b.current)
		}
		return b
	}

	// A late joiner gets the board at join.
	late := join(t, ctx, n.URL(), "wb", who{identity: "display-b", role: classroom.RoleDisplay, classroom: "b"})
	b := check(late, "late joiner's snapshot")
	t.Logf("snapshot of %d strokes arrived in %d parts", 39, b.parts)
	if b.parts < 2 {
		t.Errorf("a ~100 KiB board came in %d part(s), want several under 64 KiB", b.parts)
	}

	// Signaling drop → resume → sync.
	late.room.SimulateDrop()
	master.draw(map[string]any{"op": "stroke", "page": 1, "stroke": stroke("after-drop", 10)})
	want["1"] = append(want["1"], "after-drop")
	waitFor(t, 10*time.Second, "resumed", func() bool { late.mu.Lock(); defer late.mu.Unlock(); return late.resumed == 1 })
	time.Sleep(300 * time.Millisecond)
	late.draw(map[string]any{"op": "sync"})
	waitFor(t, 10*time.Second, "sync after resume", func() bool { b, ok := lastSnapshot(late); return ok && b.seq == ops+1 })
	b, _ = lastSnapshot(late)
	if len(b.pages["1"]) != len(want["1"]) {
		t.Errorf("after resume page 1 has %d strokes, want %d", len(b.pages["1"]), len(want["1"]))
	}

	// A full reconnect (new connection, same identity) gets it at join.
	_ = late.room.Close()
	again := join(t, ctx, n.URL(), "wb", who{identity: "display-b", role: classroom.RoleDisplay, classroom: "b"})
	waitFor(t, 10*time.Second, "snapshot after rejoin", func() bool { b, ok := lastSnapshot(again); return ok && b.seq == ops+1 })
	b, _ = lastSnapshot(again)
	if len(b.pages["0"]) != len(want["0"]) || len(b.pages["1"]) != len(want["1"]) {
		t.Errorf("after rejoin pages %d/%d strokes, want %d/%d", len(b.pages["0"]), len(b.pages["1"]), len(want["0"]), len(want["1"]))
	}
}
