package allocator

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Unix(1_000_000, 0)

func at(d time.Duration) time.Time { return t0.Add(d) }

func find(t *testing.T, dec Decision, id string) TrackDecision {
	t.Helper()
	for _, td := range dec.Tracks {
		if td.Target.TrackID == id {
			return td
		}
	}
	t.Fatalf("no decision for %s", id)
	return TrackDecision{}
}

func classroom() []Track { return []Track{audio("mic"), camera("cam", ClassMasterCamera, 0)} }

// settle runs Update at 2 Mbit/s and delivers the keyframe the camera waits for.
func settle(t *testing.T, s *Subscriber, now time.Time, estimate int, tracks []Track) Decision {
	t.Helper()
	dec := s.Update(now, estimate, tracks)
	for _, td := range dec.Tracks {
		if td.Pending {
			if ok, err := s.OnKeyframe(td.Target.TrackID, td.Target.Layer.Spatial); !ok || err != nil {
				t.Fatalf("keyframe did not switch %s: %v", td.Target.TrackID, err)
			}
		}
	}
	return dec
}

func TestSubscriberStartWaitsForKeyframe(t *testing.T) {
	t.Parallel()
	s := NewSubscriber(SubscriberConfig{})
	dec := s.Update(at(0), 2_000_000, classroom())
	cam := find(t, dec, "cam")
	if cam.Forwarding || !cam.Pending || !cam.RequestKeyframe || describe(cam.Target) != "s2t2" {
		t.Fatalf("start: %+v", cam)
	}
	if mic := find(t, dec, "mic"); !mic.Forwarding || mic.Pending {
		t.Fatalf("audio must forward at once: %+v", mic)
	}
	if ok, _ := s.OnKeyframe("cam", 1); ok {
		t.Fatal("a keyframe of another layer must not switch")
	}
	if ok, _ := s.OnKeyframe("cam", 2); !ok {
		t.Fatal("keyframe of the target layer must switch")
	}
	if _, err := s.OnKeyframe("nope", 0); !errors.Is(err, ErrUnknownTrack) {
		t.Fatalf("unknown track: %v", err)
	}
	cam = find(t, s.Update(at(100*time.Millisecond), 2_000_000, classroom()), "cam")
	if !cam.Forwarding || cam.Pending || cam.RequestKeyframe || cam.Current != (Layer{2, 2}) {
		t.Fatalf("after keyframe: %+v", cam)
	}
}

func TestSubscriberKeyframeRetry(t *testing.T) {
	t.Parallel()
	s := NewSubscriber(SubscriberConfig{})
	want := []bool{true, false, false, true, false, true}
	for i, w := range want {
		// Ticks at 0, 0.4, 0.8, 1.2, 1.6, 2.2 s.
		d := time.Duration(i) * 400 * time.Millisecond
		if i == 5 {
			d = 2200 * time.Millisecond
		}
		if got := find(t, s.Update(at(d), 2_000_000, classroom()), "cam").RequestKeyframe; got != w {
			t.Errorf("tick %d (%v): RequestKeyframe=%v, want %v", i, d, got, w)
		}
	}
}

func TestSubscriberDropDowngradesAtOnce(t *testing.T) {
	t.Parallel()
	s := NewSubscriber(SubscriberConfig{})
	settle(t, s, at(0), 2_000_000, classroom())

	cam := find(t, s.Update(at(time.Second), 300_000, classroom()), "cam")
	if describe(cam.Target) != "s1t0" || !cam.Pending || !cam.RequestKeyframe {
		t.Fatalf("drop to 300k: %+v", cam)
	}
	if !cam.Forwarding || cam.Current != (Layer{2, 2}) {
		t.Fatalf("until the keyframe the old layer is forwarded: %+v", cam)
	}
	// The estimate drops further before the keyframe: the pending switch
	// changes layer and a keyframe of the new layer is asked for at once.
	cam = find(t, s.Update(at(1050*time.Millisecond), 220_000, classroom()), "cam")
	if describe(cam.Target) != "s0t2" || !cam.RequestKeyframe {
		t.Fatalf("pending switch retargeted: %+v", cam)
	}
	if ok, _ := s.OnKeyframe("cam", 0); !ok {
		t.Fatal("switch on keyframe")
	}
	dec := s.Update(at(1100*time.Millisecond), 60_000, classroom())
	cam = find(t, dec, "cam")
	if cam.Forwarding || !cam.Target.Reasons.Has(PauseBandwidth) || cam.RequestKeyframe {
		t.Fatalf("drop to 60k (below what audio plus the lowest layer needs) must pause at once: %+v", cam)
	}
	if !find(t, dec, "mic").Forwarding {
		t.Fatal("audio kept")
	}
	if dec.AllowedBps != 60_000 || dec.UpgradeBlockedUntil != at(6100*time.Millisecond) {
		t.Fatalf("allowed %d blocked until %v", dec.AllowedBps, dec.UpgradeBlockedUntil.Sub(t0))
	}
}

func TestSubscriberUpgradeWaitsForHoldTime(t *testing.T) {
	t.Parallel()
	s := NewSubscriber(SubscriberConfig{})
	settle(t, s, at(0), 300_000, classroom()) // allowed 250k: cam s1t0
	if got := describe(find(t, s.Update(at(0), 300_000, classroom()), "cam").Target); got != "s1t0" {
		t.Fatalf("start: %s", got)
	}
	steps := []struct {
		at       time.Duration
		estimate int
		want     string
	}{
		{1 * time.Second, 1_000_000, "s1t0"},       // held since 1 s
		{2 * time.Second, 1_000_000, "s1t0"},       //
		{2500 * time.Millisecond, 350_000, "s1t0"}, // dip: the timer restarts (no drop: 350k > allowed)
		{3 * time.Second, 1_000_000, "s1t0"},       // held since 3 s
		{4900 * time.Millisecond, 1_000_000, "s1t0"},
		{5 * time.Second, 1_000_000, "s2t0"}, // 2 s held: upgrade to what 1M/1.2 allows
	}
	for _, st := range steps {
		got := describe(find(t, s.Update(at(st.at), st.estimate, classroom()), "cam").Target)
		if got != st.want {
			t.Fatalf("at %v estimate %d: %s, want %s", st.at, st.estimate, got, st.want)
		}
	}
}

func TestSubscriberRecoveryAfterDropWaitsForHoldDown(t *testing.T) {
	t.Parallel()
	s := NewSubscriber(SubscriberConfig{})
	settle(t, s, at(0), 2_000_000, classroom())
	settle(t, s, at(10*time.Second), 60_000, classroom()) // congestion drop at 10 s: paused
	for _, st := range []struct {
		at     time.Duration
		paused bool
	}{
		{11 * time.Second, true}, // estimate back at 11 s
		{13 * time.Second, true}, // held 2 s, but hold-down runs to 15 s
		{14900 * time.Millisecond, true},
		{15 * time.Second, false},
	} {
		cam := find(t, s.Update(at(st.at), 2_000_000, classroom()), "cam")
		if cam.Target.Paused != st.paused {
			t.Fatalf("at %v: %+v", st.at, cam)
		}
		if !st.paused && (!cam.Pending || !cam.RequestKeyframe || cam.Forwarding) {
			t.Fatalf("resume must wait for a keyframe: %+v", cam)
		}
	}
}

// TestSubscriberOscillationDamped: every drop soon after an upgrade doubles
// the hold-down (5 → 10 → 20 s); a drop long after the last upgrade resets it.
func TestSubscriberOscillationDamped(t *testing.T) {
	t.Parallel()
	s := NewSubscriber(SubscriberConfig{})
	settle(t, s, at(0), 2_000_000, classroom())
	upgradeAt := func(from time.Duration) time.Duration {
		t.Helper()
		for d := from; d < from+2*time.Minute; d += 100 * time.Millisecond {
			if !find(t, s.Update(at(d), 2_000_000, classroom()), "cam").Target.Paused {
				return d
			}
		}
		t.Fatal("never upgraded")
		return 0
	}
	drop := func(d time.Duration) Decision {
		t.Helper()
		dec := s.Update(at(d), 60_000, classroom())
		if !find(t, dec, "cam").Target.Paused {
			t.Fatal("drop did not pause")
		}
		return dec
	}
	drop(10 * time.Second)
	up1 := upgradeAt(10*time.Second + 100*time.Millisecond)
	if want := 15 * time.Second; up1 != want {
		t.Fatalf("first recovery at %v, want %v", up1, want)
	}
	dec := drop(up1 + time.Second)
	if got := dec.UpgradeBlockedUntil.Sub(at(up1 + time.Second)); got != 10*time.Second {
		t.Fatalf("second hold-down %v, want 10s", got)
	}
	up2 := upgradeAt(up1 + time.Second + 100*time.Millisecond)
	if want := up1 + 11*time.Second; up2 != want {
		t.Fatalf("second recovery at %v, want %v", up2, want)
	}
	dec = drop(up2 + time.Second)
	if got := dec.UpgradeBlockedUntil.Sub(at(up2 + time.Second)); got != 20*time.Second {
		t.Fatalf("third hold-down %v, want 20s", got)
	}
	up3 := upgradeAt(up2 + time.Second + 100*time.Millisecond)
	// Stable for a minute: the next drop gets the base hold-down again.
	dec = drop(up3 + time.Minute)
	if got := dec.UpgradeBlockedUntil.Sub(at(up3 + time.Minute)); got != 5*time.Second {
		t.Fatalf("hold-down after a stable minute %v, want 5s", got)
	}
}

func TestSubscriberSmallDipIsNoCongestionDrop(t *testing.T) {
	t.Parallel()
	s := NewSubscriber(SubscriberConfig{})
	settle(t, s, at(0), 2_000_000, classroom()) // allowed 1.67M, cam s2t2 (1.5M)
	dec := s.Update(at(time.Second), 1_650_000, classroom())
	if !dec.UpgradeBlockedUntil.IsZero() || describe(find(t, dec, "cam").Target) != "s2t2" {
		t.Fatalf("dip that changes no layer: %+v", dec)
	}
}

func TestSubscriberPauseReasonsClearedIndividually(t *testing.T) {
	t.Parallel()
	s := NewSubscriber(SubscriberConfig{})
	tracks := classroom()
	tracks[1].PublisherMuted, tracks[1].Request.Disabled = true, true
	settle(t, s, at(0), 80_000, tracks)

	check := func(d time.Duration, estimate int, want string) TrackDecision {
		t.Helper()
		cam := find(t, s.Update(at(d), estimate, tracks), "cam")
		if got := describe(cam.Target); got != want {
			t.Fatalf("at %v: %s, want %s", d, got, want)
		}
		return cam
	}
	check(time.Second, 80_000, "paused:publisher-muted|subscriber-disabled")
	tracks[1].PublisherMuted = false
	check(2*time.Second, 80_000, "paused:subscriber-disabled")
	tracks[1].Request.Disabled = false
	check(3*time.Second, 80_000, "paused:bandwidth")
	check(4*time.Second, 300_000, "paused:bandwidth") // held since 4 s
	cam := check(6*time.Second, 300_000, "s1t0")
	if !cam.Pending || !cam.RequestKeyframe {
		t.Fatalf("resume waits for a keyframe: %+v", cam)
	}
	if ok, _ := s.OnKeyframe("cam", 1); !ok {
		t.Fatal("resume on keyframe")
	}
	// Muting while forwarding pauses at once; unmuting resumes at once
	// (the budget is there) behind a keyframe.
	tracks[1].PublisherMuted = true
	if cam := check(7*time.Second, 300_000, "paused:publisher-muted"); cam.Forwarding {
		t.Fatal("muted track still forwarded")
	}
	tracks[1].PublisherMuted = false
	if cam := check(8*time.Second, 300_000, "s1t0"); !cam.RequestKeyframe {
		t.Fatal("unmute must request a keyframe")
	}
}

func TestSubscriberProbe(t *testing.T) {
	t.Parallel()
	s := NewSubscriber(SubscriberConfig{})
	// allowed 250k: mic + cam s1t0 = 224k. The next step (s1t1) needs 374k
	// in total, i.e. an estimate of 374k / 0.95 headroom × 1.2 margin =
	// 472k; the probe aims at twice the estimate (600k) as that is more.
	p := settle(t, s, at(0), 300_000, classroom()).Probe
	if p == nil || p.TargetBps != 600_000 || p.PaddingBps != 600_000-224_000 || p.Duration != time.Second {
		t.Fatalf("probe: %+v", p)
	}
	noProbe := func(d time.Duration) {
		t.Helper()
		if p := s.Update(at(d), 300_000, classroom()).Probe; p != nil {
			t.Fatalf("unexpected probe at %v: %+v", d, p)
		}
	}
	wantProbe := func(d time.Duration) {
		t.Helper()
		if s.Update(at(d), 300_000, classroom()).Probe == nil {
			t.Fatalf("no probe at %v", d)
		}
	}
	noProbe(500 * time.Millisecond) // one in flight
	s.OnProbeResult(at(time.Second), false)
	noProbe(5900 * time.Millisecond) // back-off 5 s
	wantProbe(6 * time.Second)
	// No result at all: failed once duration + timeout pass (9 s), and the
	// back-off doubles to 10 s.
	noProbe(9 * time.Second)
	noProbe(18900 * time.Millisecond)
	wantProbe(19 * time.Second)
	// The probe confirms and the estimator now says 480k: the upgrade
	// happens at once, without HoldTime.
	s.OnProbeResult(at(20*time.Second), true)
	dec := s.Update(at(20*time.Second), 480_000, classroom())
	if cam := find(t, dec, "cam"); describe(cam.Target) != "s1t1" || dec.Probe != nil {
		t.Fatalf("confirmed probe: %+v %+v", cam, dec.Probe)
	}
}

func TestSubscriberProbeTargetCappedAtWant(t *testing.T) {
	t.Parallel()
	s := NewSubscriber(SubscriberConfig{})
	// A 320x180 request: everything wanted costs mic 24k + q/t2 150k, an
	// estimate of 219,789; at 150k the next step is q/t2 itself.
	tracks := classroom()
	tracks[1].Request.Width, tracks[1].Request.Height = 320, 180
	p := s.Update(at(0), 150_000, tracks).Probe
	if p == nil || p.TargetBps != 219_789 {
		t.Fatalf("probe: %+v", p)
	}
}

func TestSubscriberProbeBackoffCapped(t *testing.T) {
	t.Parallel()
	s := NewSubscriber(SubscriberConfig{})
	s.Update(at(0), 80_000, classroom())
	d := time.Duration(0)
	var waits []time.Duration
	for range 5 {
		s.OnProbeResult(at(d), false)
		start := d
		for d += 100 * time.Millisecond; s.Update(at(d), 80_000, classroom()).Probe == nil; d += 100 * time.Millisecond {
		}
		waits = append(waits, d-start)
	}
	want := []time.Duration{5 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("back-offs %v, want %v", waits, want)
		}
	}
}

func TestSubscriberForgetsRemovedTracks(t *testing.T) {
	t.Parallel()
	s := NewSubscriber(SubscriberConfig{})
	settle(t, s, at(0), 2_000_000, classroom())
	s.Update(at(time.Second), 2_000_000, classroom()[:1])
	if _, err := s.OnKeyframe("cam", 2); !errors.Is(err, ErrUnknownTrack) {
		t.Fatalf("removed track still known: %v", err)
	}
}

// A congestion episode often comes down in steps (the estimate falls while
// the old queue drains): only its first step counts as an oscillation.
func TestSubscriberStepsOfOneDropDoNotCompoundHoldDown(t *testing.T) {
	t.Parallel()
	s := NewSubscriber(SubscriberConfig{})
	settle(t, s, at(0), 2_000_000, classroom())
	s.Update(at(10*time.Second), 60_000, classroom())
	var up time.Duration
	for d := 10 * time.Second; d < time.Minute; d += 100 * time.Millisecond {
		if !find(t, s.Update(at(d), 2_000_000, classroom()), "cam").Target.Paused {
			up = d
			break
		}
	}
	first := s.Update(at(up+time.Second), 400_000, classroom())
	if got := first.UpgradeBlockedUntil.Sub(at(up + time.Second)); got != 10*time.Second {
		t.Fatalf("drop soon after an upgrade: hold-down %v, want 10s", got)
	}
	second := s.Update(at(up+1500*time.Millisecond), 60_000, classroom())
	if !find(t, second, "cam").Target.Paused {
		t.Fatal("80 kbit/s did not pause the camera")
	}
	if got := second.UpgradeBlockedUntil.Sub(at(up + 1500*time.Millisecond)); got != 10*time.Second {
		t.Errorf("second step of the same drop: hold-down %v, want 10s (not doubled again)", got)
	}
}

// A drop far below what was allowed before the last upgrade is the link
// getting worse (a cap, a shared line filling up), not that upgrade
// overshooting: the hold-down is not doubled, so the subscriber gets back
// on its feet as soon as the link allows.
func TestSubscriberLinkGettingWorseIsNotAnOscillation(t *testing.T) {
	t.Parallel()
	s := NewSubscriber(SubscriberConfig{})
	settle(t, s, at(0), 2_000_000, classroom())
	s.Update(at(10*time.Second), 300_000, classroom()) // congestion: allowed 300k
	var up time.Duration
	for d := 10 * time.Second; d < time.Minute; d += 100 * time.Millisecond {
		if dec := s.Update(at(d), 2_000_000, classroom()); dec.AllowedBps > 1_000_000 {
			up = d
			break
		}
	}
	if up == 0 {
		t.Fatal("never upgraded")
	}
	// An overshooting upgrade would fall back near 300k; this falls to half.
	dec := s.Update(at(up+time.Second), 150_000, classroom())
	if got := dec.UpgradeBlockedUntil.Sub(at(up + time.Second)); got != 5*time.Second {
		t.Errorf("link got worse soon after an upgrade: hold-down %v, want the base 5s", got)
	}
	// Near the pre-upgrade level it is an oscillation: doubled.
	s2 := NewSubscriber(SubscriberConfig{})
	settle(t, s2, at(0), 2_000_000, classroom())
	s2.Update(at(10*time.Second), 300_000, classroom())
	for d := 10 * time.Second; d < time.Minute; d += 100 * time.Millisecond {
		if dec := s2.Update(at(d), 2_000_000, classroom()); dec.AllowedBps > 1_000_000 {
			up = d
			break
		}
	}
	dec = s2.Update(at(up+time.Second), 280_000, classroom())
	if got := dec.UpgradeBlockedUntil.Sub(at(up + time.Second)); got != 10*time.Second {
		t.Errorf("drop back to the pre-upgrade level: hold-down %v, want 10s", got)
	}
}

// Each probe confirmed in a row doubles the next one's multiplier (2 → 4 →
// 8, as libwebrtc probes further at twice a successful rate), so a link
// that came back is found in two or three probes; a failed probe resets it.
func TestSubscriberProbeEscalatesWhileConfirmed(t *testing.T) {
	t.Parallel()
	s := NewSubscriber(SubscriberConfig{})
	probeAt := func(d time.Duration, est int) *ProbeRequest {
		t.Helper()
		for ; d < time.Minute; d += 100 * time.Millisecond {
			if p := s.Update(at(d), est, classroom()).Probe; p != nil {
				return p
			}
		}
		t.Fatal("no probe")
		return nil
	}
	settle(t, s, at(0), 100_000, classroom())
	s.OnProbeResult(at(time.Second), true)
	if p := probeAt(time.Second, 200_000); p.TargetBps != 800_000 {
		t.Fatalf("probe after one confirmed: target %d, want 4 × 200k", p.TargetBps)
	}
	s.OnProbeResult(at(10*time.Second), true)
	if p := probeAt(10*time.Second, 200_000); p.TargetBps != 1_600_000 {
		t.Fatalf("probe after two confirmed: target %d, want 8 × 200k", p.TargetBps)
	}
	s.OnProbeResult(at(20*time.Second), false)
	if p := probeAt(20*time.Second, 200_000); p.TargetBps != 400_000 {
		t.Fatalf("probe after a failed one: target %d, want 2 × 200k", p.TargetBps)
	}
}

// After a failed probe the next ones are short until one confirms: a link
// that stays thin is overfilled less by each attempt.
func TestSubscriberRetryProbesAreShort(t *testing.T) {
	t.Parallel()
	s := NewSubscriber(SubscriberConfig{ProbeDuration: 600 * time.Millisecond, RetryProbeDuration: 200 * time.Millisecond})
	probeAt := func(d time.Duration) *ProbeRequest {
		t.Helper()
		for ; d < time.Minute; d += 100 * time.Millisecond {
			if p := s.Update(at(d), 100_000, classroom()).Probe; p != nil {
				return p
			}
		}
		t.Fatal("no probe")
		return nil
	}
	if p := settle(t, s, at(0), 100_000, classroom()).Probe; p == nil || p.Duration != 600*time.Millisecond {
		t.Fatalf("first probe %+v, want 600ms", p)
	}
	s.OnProbeResult(at(time.Second), false)
	if p := probeAt(time.Second); p.Duration != 200*time.Millisecond {
		t.Fatalf("probe after a failed one %v, want 200ms", p.Duration)
	}
	s.OnProbeResult(at(20*time.Second), true)
	if p := probeAt(20 * time.Second); p.Duration != 600*time.Millisecond {
		t.Fatalf("probe after a confirmed one %v, want 600ms", p.Duration)
	}
}
