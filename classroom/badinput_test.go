package classroom_test

import (
	"context"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/classcast/classcast/classroom"
	"github.com/classcast/classcast/sfu/node"
)

func counter(t *testing.T, n *node.Node, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := n.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for k, v := range labels {
				if !hasLabel(m, k, v) {
					continue next
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

// TestBadInput: malformed, oversized and spoofed messages are dropped,
// counted and answered; a flooding participant is rate-limited while
// another one's requests are still served.
func TestBadInput(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	n := startNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := join(t, ctx, n.URL(), "bad", who{identity: "master", role: classroom.RoleMaster})
	flood := join(t, ctx, n.URL(), "bad", who{identity: "display-a", role: classroom.RoleDisplay, classroom: "a"})
	other := join(t, ctx, n.URL(), "bad", who{identity: "display-b", role: classroom.RoleDisplay, classroom: "b"})
	m.waitState("lesson", func(s *classroom.State) bool { return s.Mode == classroom.ModeLesson })
	before := m.latest().Version

	untagged := func(p *peer, code, text string) func() bool {
		return func() bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			for _, r := range p.untagged {
				if r.Error == code && strings.Contains(r.Message, text) {
					return true
				}
			}
			return false
		}
	}
	flood.send(classroom.TopicRequest, []byte(`{"id":"x","type":`))
	waitFor(t, 5*time.Second, "malformed answered", untagged(flood, "bad_request", "malformed request JSON"))
	flood.send(classroom.TopicRequest, []byte(`{"id":"x","type":"question.raise","text":"`+strings.Repeat("a", 9000)+`"}`))
	waitFor(t, 5*time.Second, "oversized answered", untagged(flood, "bad_request", "request of 9"))
	if r := flood.do("question.launch", nil); r.Error != "bad_request" {
		t.Errorf("unknown type: %+v", r)
	}
	if r := flood.do(classroom.ReqQuestionRaise, map[string]any{"text": strings.Repeat("?", 501)}); r.Error != "bad_request" {
		t.Errorf("long question: %+v", r)
	}
	m.draw(map[string]any{"id": "w1", "op": "stroke", "page": 0, "stroke": map[string]any{"id": "s", "tool": "laser", "points": [][2]float64{{0, 0}}}})
	m.draw(map[string]any{"id": "w2", "op": "stroke", "page": 0, "stroke": map[string]any{"id": "s", "tool": "pen", "points": [][2]float64{{0, 1e9}}}})
	m.draw(map[string]any{"id": "w3", "op": "flip", "page": 0})
	m.draw(map[string]any{"id": "w4", "op": "page", "page": 100000})
	waitFor(t, 5*time.Second, "whiteboard refusals", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, id := range []string{"w1", "w2", "w3", "w4"} {
			if r, ok := m.res[id]; !ok || r.Error != "bad_request" {
				return false
			}
		}
		return true
	})
	// Spoofed server topics are dropped, not forwarded.
	flood.send(classroom.TopicState, []byte(`{"version":999,"mode":"meeting"}`))

	// A flood: 300 requests at once from one participant.
	for i := 0; i < 300; i++ {
		flood.send(classroom.TopicRequest, []byte(`{"id":"f","type":"question.raise","text":"spam"}`))
	}
	waitFor(t, 5*time.Second, "rate_limited answered", untagged(flood, "rate_limited", "too many requests"))
	// Others are unaffected.
	if r := other.do(classroom.ReqQuestionRaise, map[string]any{"text": "a real question"}); !r.OK {
		t.Errorf("other classroom refused during a flood: %+v", r)
	}
	time.Sleep(300 * time.Millisecond)
	flood.mu.Lock()
	limited := 0
	for _, r := range flood.untagged {
		if r.Error == "rate_limited" {
			limited++
		}
	}
	flood.mu.Unlock()
	if limited > 2 {
		t.Errorf("told %d times about rate limiting within a second, want at most once a second", limited)
	}
	if s := other.latest(); s.Version > 999 || s.Mode != classroom.ModeLesson {
		t.Errorf("spoofed state reached a participant: %+v", s)
	}
	if v := m.latest().Version; v == before {
		t.Error("the real question changed no state")
	}

	drop := func(topic, reason string) float64 {
		return counter(t, n, "classcast_classroom_dropped_total", map[string]string{"topic": topic, "reason": reason})
	}
	for _, c := range []struct {
		topic, reason string
		min           float64
	}{
		{classroom.TopicRequest, "malformed", 1}, {classroom.TopicRequest, "oversized", 1},
		{classroom.TopicRequest, "rate_limited", 200}, {classroom.TopicState, "spoofed", 1},
		{classroom.TopicWhiteboard, "malformed", 4},
	} {
		if got := drop(c.topic, c.reason); got < c.min {
			t.Errorf("dropped{%s,%s} = %v, want ≥ %v", c.topic, c.reason, got, c.min)
		}
	}
	t.Logf("flood: %v of 300 dropped by the rate limit, %d rate_limited answers",
		drop(classroom.TopicRequest, "rate_limited"), limited)
	// About the burst (40, less what the earlier bad requests spent) got through and was served: 10 open questions per
	// classroom, then "limit".
	okN := counter(t, n, "classcast_classroom_requests_total", map[string]string{"type": "question.raise", "result": "ok"})
	limitN := counter(t, n, "classcast_classroom_requests_total", map[string]string{"type": "question.raise", "result": "limit"})
	if okN+limitN < 30 || limitN == 0 {
		t.Errorf("question.raise ok %v limit %v", okN, limitN)
	}
}
