package allocator

import (
	"testing"
	"time"
)

func enabledString(t *testing.T, d *Dynacast, now time.Time) (string, bool, time.Time) {
	t.Helper()
	q, changed, recheck := d.Update(now)
	b := []byte("---")
	for i, sq := range q {
		if int(sq.Quality) != i {
			t.Fatalf("quality order: %v", q)
		}
		if sq.Enabled {
			b[i] = "qhf"[i]
		}
	}
	return string(b), changed, recheck
}

func TestDynacast(t *testing.T) {
	t.Parallel()
	d := NewDynacast(DynacastConfig{})
	type step struct {
		at      time.Duration
		do      func()
		want    string
		changed bool
	}
	steps := []step{
		{0, func() { d.SetNeed("alice", 0) }, "qhf", true}, // first report; h/f off only after 5 s
		{4 * time.Second, nil, "qhf", false},
		{5 * time.Second, nil, "q--", true},
		{6 * time.Second, func() { d.SetNeed("bob", 2) }, "qhf", true},  // on at once
		{7 * time.Second, func() { d.SetNeed("bob", 1) }, "qhf", false}, // f unneeded since 7 s
		{9 * time.Second, func() { d.SetNeed("bob", 2) }, "qhf", false}, // needed again: timer reset
		{10 * time.Second, func() { d.SetNeed("bob", 1) }, "qhf", false},
		{14900 * time.Millisecond, nil, "qhf", false},
		{15 * time.Second, nil, "qh-", true},
		{16 * time.Second, func() { d.SetNeed("cascade-node-2", 2) }, "qhf", true}, // downstream node
		{17 * time.Second, func() { d.Remove("cascade-node-2"); d.SetNeed("bob", -1); d.SetNeed("alice", -1) }, "qhf", false},
		{22 * time.Second, nil, "---", true},
		{23 * time.Second, nil, "---", false},
	}
	for _, st := range steps {
		if st.do != nil {
			st.do()
		}
		got, changed, recheck := enabledString(t, d, at(st.at))
		if got != st.want || changed != st.changed {
			t.Fatalf("at %v: %s changed=%v, want %s changed=%v", st.at, got, changed, st.want, st.changed)
		}
		if hasPendingOff(d) == recheck.IsZero() {
			t.Fatalf("at %v: recheck %v", st.at, recheck)
		}
	}
	d.SetNeed("alice", 2)
	d.Update(at(30 * time.Second))
	d.SetNeed("alice", 0)
	if _, _, recheck := d.Update(at(31 * time.Second)); recheck != at(36*time.Second) {
		t.Fatalf("recheck %v, want 36 s", recheck.Sub(t0))
	}
}

func hasPendingOff(d *Dynacast) bool {
	for _, s := range d.unneededSince {
		if !s.IsZero() {
			return true
		}
	}
	return false
}

func TestNeedOf(t *testing.T) {
	t.Parallel()
	cases := []struct {
		td   TrackDecision
		want int
	}{
		{TrackDecision{Target: TrackAllocation{Paused: true}}, -1},
		{TrackDecision{Target: TrackAllocation{Layer: Layer{Spatial: 1}}, Pending: true}, 1},
		// Downgrading: the current layer is still forwarded until the keyframe.
		{TrackDecision{Target: TrackAllocation{Layer: Layer{Spatial: 0}}, Forwarding: true, Current: Layer{Spatial: 2}, Pending: true}, 2},
		{TrackDecision{Target: TrackAllocation{Layer: Layer{Spatial: 2}}, Forwarding: true, Current: Layer{Spatial: 0}, Pending: true}, 2},
	}
	for i, tc := range cases {
		if got := NeedOf(tc.td); got != tc.want {
			t.Errorf("case %d: %d, want %d", i, got, tc.want)
		}
	}
}

func TestQualityUpdate(t *testing.T) {
	t.Parallel()
	q, _, _ := NewDynacast(DynacastConfig{}).Update(t0)
	u := QualityUpdate("TR_x", "video/VP8", q)
	if u.TrackSid != "TR_x" || len(u.SubscribedQualities) != 3 || len(u.SubscribedCodecs) != 1 ||
		u.SubscribedCodecs[0].Codec != "video/VP8" || len(u.SubscribedCodecs[0].Qualities) != 3 {
		t.Fatalf("update: %v", u)
	}
}
