package classroom_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"go.uber.org/goleak"

	"github.com/classcast/classcast/classroom"
	client "github.com/classcast/classcast/client-sdk/go"
)

const (
	ok = "ok"
	na = "not_allowed"
	br = "bad_request"
)

// cell runs one action as actor and returns the answer.
type tableAction struct {
	name string
	// run performs the action as p, calling mark after any preparation,
	// right before the request itself.
	run func(p *peer, mark func()) classroom.Response
	// want per actor identity ("" entries are not tested).
	want map[string]string
	// reset puts the state back after an allowed action.
	reset func()
}

// TestRoleActionTable: every role × action in a lesson room is allowed or
// refused with a reason, and a refusal changes no state.
func TestRoleActionTable(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	n := startNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	const rm = "roles"
	m := join(t, ctx, n.URL(), rm, who{identity: "master", role: classroom.RoleMaster})
	adm := join(t, ctx, n.URL(), rm, who{identity: "admin", role: classroom.RoleAdmin})
	rtA := join(t, ctx, n.URL(), rm, who{identity: "teacher-a", role: classroom.RoleRemote, classroom: "a"})
	dA := join(t, ctx, n.URL(), rm, who{identity: "display-a", role: classroom.RoleDisplay, classroom: "a"})
	rtB := join(t, ctx, n.URL(), rm, who{identity: "teacher-b", role: classroom.RoleRemote, classroom: "b"})
	mp := join(t, ctx, n.URL(), rm, who{identity: "guest", role: classroom.RoleParticipant})
	obs := join(t, ctx, n.URL(), rm, who{identity: "observer", role: classroom.RoleObserver})
	actors := []*peer{m, adm, rtA, dA, rtB, mp}
	mic := newAudioSource("display-a-mic")
	publishAudio(t, ctx, dA, mic)
	mic.run(ctx, &pumps, 50*time.Millisecond, 0)
	adm.waitState("lesson", func(s *classroom.State) bool { return s.Mode == classroom.ModeLesson })

	// Helpers run by the admin (or the classroom) to set up a cell.
	newQuestion := func(forward bool) string {
		before := len(rtA.latest().Questions)
		if r := dA.do(classroom.ReqQuestionRaise, map[string]any{"text": "why?"}); !r.OK {
			t.Fatalf("prep raise: %+v", r)
		}
		qs := rtA.waitState("new question", func(s *classroom.State) bool { return len(s.Questions) > before }).Questions
		id := qs[len(qs)-1].ID
		if forward {
			if r := rtA.do(classroom.ReqQuestionForward, map[string]any{"question_id": id}); !r.OK {
				t.Fatalf("prep forward: %+v", r)
			}
		}
		return id
	}
	resetQuestions := func() {
		time.Sleep(50 * time.Millisecond)
		for _, q := range adm.latest().Questions {
			if q.State != classroom.QuestionDone {
				adm.do(classroom.ReqQuestionDismiss, map[string]any{"question_id": q.ID})
			}
		}
	}
	victims := 0
	staff := func(want string) map[string]string {
		return map[string]string{"master": want, "admin": want, "teacher-a": na, "display-a": na, "teacher-b": na, "guest": na}
	}
	req := func(typ string, fields map[string]any) func(p *peer, mark func()) classroom.Response {
		return func(p *peer, mark func()) classroom.Response { mark(); return p.do(typ, fields) }
	}
	actions := []tableAction{
		{name: "question.raise", run: req(classroom.ReqQuestionRaise, map[string]any{"text": "what is a half?"}),
			want:  map[string]string{"master": na, "admin": na, "teacher-a": ok, "display-a": ok, "teacher-b": ok, "guest": na},
			reset: resetQuestions},
		{name: "question.forward (classroom a's)", run: func(p *peer, mark func()) classroom.Response {
			id := newQuestion(false)
			mark()
			return p.do(classroom.ReqQuestionForward, map[string]any{"question_id": id})
		}, want: map[string]string{"master": na, "admin": na, "teacher-a": ok, "display-a": na, "teacher-b": na, "guest": na},
			reset: resetQuestions},
		{name: "question.dismiss (classroom a's)", run: func(p *peer, mark func()) classroom.Response {
			id := newQuestion(true)
			mark()
			return p.do(classroom.ReqQuestionDismiss, map[string]any{"question_id": id})
		}, want: map[string]string{"master": ok, "admin": ok, "teacher-a": ok, "display-a": na, "teacher-b": na, "guest": na},
			reset: resetQuestions},
		{name: "stage.add a", run: req(classroom.ReqStageAdd, map[string]any{"classroom": "a"}), want: staff(ok),
			reset: func() { adm.do(classroom.ReqStageRemove, map[string]any{"classroom": "a"}) }},
		{name: "stage.remove a", run: func(p *peer, mark func()) classroom.Response {
			adm.do(classroom.ReqStageAdd, map[string]any{"classroom": "a"})
			mark()
			return p.do(classroom.ReqStageRemove, map[string]any{"classroom": "a"})
		}, want: map[string]string{"master": ok, "admin": ok, "teacher-a": ok, "display-a": na, "teacher-b": na, "guest": na},
			reset: func() { adm.do(classroom.ReqStageRemove, map[string]any{"classroom": "a"}) }},
		{name: "participant.mute display-a mic", run: req(classroom.ReqMute, map[string]any{"identity": "display-a", "source": "microphone"}), want: staff(ok)},
		{name: "participant.request_unmute display-a", run: req(classroom.ReqRequestUnmute, map[string]any{"identity": "display-a"}), want: staff(ok)},
		{name: "participant.remove", run: func(p *peer, mark func()) classroom.Response {
			victims++
			join(t, ctx, n.URL(), rm, who{identity: fmt.Sprintf("victim-%d", victims), role: classroom.RoleDisplay, classroom: "v"})
			mark()
			return p.do(classroom.ReqRemove, map[string]any{"identity": fmt.Sprintf("victim-%d", victims)})
		}, want: staff(ok)},
		{name: "lesson.start", run: func(p *peer, mark func()) classroom.Response {
			adm.do(classroom.ReqLessonEnd, nil)
			mark()
			return p.do(classroom.ReqLessonStart, nil)
		}, want: staff(ok)},
		{name: "lesson.end", run: func(p *peer, mark func()) classroom.Response {
			adm.do(classroom.ReqLessonStart, nil)
			mark()
			return p.do(classroom.ReqLessonEnd, nil)
		}, want: staff(ok)},
		{name: "chapter.mark", run: req(classroom.ReqChapterMark, map[string]any{"title": "Fractions"}), want: staff(ok)},
		{name: "hand.raise", run: req(classroom.ReqHandRaise, nil),
			want:  map[string]string{"master": na, "admin": na, "teacher-a": na, "display-a": na, "teacher-b": na, "guest": ok},
			reset: func() { adm.do(classroom.ReqHandLower, map[string]any{"identity": "guest"}) }},
		{name: "hand.lower (guest's)", run: func(p *peer, mark func()) classroom.Response {
			mp.do(classroom.ReqHandRaise, nil)
			mark()
			return p.do(classroom.ReqHandLower, map[string]any{"identity": "guest"})
		}, want: map[string]string{"master": ok, "admin": ok, "teacher-a": na, "display-a": na, "teacher-b": na, "guest": ok},
			reset: func() { adm.do(classroom.ReqHandLower, map[string]any{"identity": "guest"}) }},
		{name: "meeting.mute_all (lesson room)", run: req(classroom.ReqMuteAll, nil), want: staff(br)},
		{name: "meeting.spotlight (lesson room)", run: req(classroom.ReqSpotlight, map[string]any{"identity": "master"}), want: staff(br)},
		{name: "meeting.end (lesson room)", run: req(classroom.ReqMeetingEnd, nil), want: staff(br)},
		{name: "state.sync", run: req(classroom.ReqStateSync, nil),
			want: map[string]string{"master": ok, "admin": ok, "teacher-a": ok, "display-a": ok, "teacher-b": ok, "guest": ok}},
		{name: "whiteboard stroke", run: func(p *peer, mark func()) classroom.Response {
			mark()
			id := "wb-" + p.id
			p.draw(map[string]any{"id": id, "op": "stroke", "page": 0, "stroke": stroke("s-"+p.id, 3)})
			// Allowed ops are answered by their broadcast, refused ones on classcast.res.
			var res classroom.Response
			waitFor(t, 5*time.Second, "whiteboard outcome", func() bool {
				p.mu.Lock()
				defer p.mu.Unlock()
				if r, got := p.res[id]; got {
					res = r
					return true
				}
				for _, op := range p.board {
					if op["by"] == p.id {
						res = classroom.Response{ID: id, OK: true}
						return true
					}
				}
				return false
			})
			return res
		}, want: staff(ok)},
	}

	var table strings.Builder
	for _, a := range actions {
		for _, p := range actors {
			want, tested := a.want[p.id]
			if !tested {
				continue
			}
			var before uint64
			r := a.run(p, func() {
				// Broadcasts of the preparation reach the admin within ms.
				time.Sleep(50 * time.Millisecond)
				before = adm.latest().Version
			})
			got := ok
			if !r.OK {
				got = r.Error
			}
			fmt.Fprintf(&table, "%-36s %-10s %-12s %s\n", a.name, p.id, got, r.Message)
			if got != want {
				t.Errorf("%s by %s: %s (%s), want %s", a.name, p.id, got, r.Message, want)
			}
			if !r.OK {
				if r.Message == "" {
					t.Errorf("%s by %s: refusal without a reason", a.name, p.id)
				}
				time.Sleep(100 * time.Millisecond)
				if v := adm.latest().Version; v != before {
					t.Errorf("%s by %s refused but the state changed (version %d → %d)", a.name, p.id, before, v)
				}
			}
			if r.OK && a.reset != nil {
				a.reset()
			}
		}
	}
	t.Logf("role × action (lesson room):\n%s", table.String())

	// The observer's token does not allow data at all: refused by the grant.
	obs.send(classroom.TopicRequest, []byte(`{"id":"o-1","type":"state.sync"}`))
	waitFor(t, 5*time.Second, "observer refused", func() bool {
		obs.mu.Lock()
		defer obs.mu.Unlock()
		for _, rr := range obs.refusals {
			if rr.Reason == livekit.RequestResponse_NOT_ALLOWED && strings.Contains(rr.Message, "publishing data") {
				return true
			}
		}
		return false
	})
	// Observers still get the state (sent at join).
	if s := obs.latest(); s == nil || s.Mode != classroom.ModeLesson {
		t.Errorf("observer state %+v", s)
	}
}

// TestRolePublishEnforced: a token whose grants are wider than its role
// (a classroom display allowed every source) gets a screen share
// unpublished with a reason, and nobody receives it; the role's own grant
// already refuses it at add_track.
func TestRolePublishEnforced(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	n := startNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	m := join(t, ctx, n.URL(), "pub", who{identity: "master", role: classroom.RoleMaster}, client.WithAutoDrain())
	wide := join(t, ctx, n.URL(), "pub", who{identity: "display-a", role: classroom.RoleDisplay, classroom: "a", grant: &auth.VideoGrant{}})
	lt, err := publishVideo(t, ctx, &pumps, wide, livekit.TrackSource_SCREEN_SHARE)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "refusal", func() bool {
		wide.mu.Lock()
		defer wide.mu.Unlock()
		for _, rr := range wide.refusals {
			if rr.Reason == livekit.RequestResponse_NOT_ALLOWED && strings.Contains(rr.Message, "classroom_display may not publish SCREEN_SHARE") {
				return len(wide.unpublished) == 1 && wide.unpublished[0] == lt.SID()
			}
		}
		return false
	})
	time.Sleep(300 * time.Millisecond)
	if subscribed(m, lt.SID()) {
		t.Error("the master receives a refused screen share")
	}
	// The role's own grant: refused before any media flows.
	strict := join(t, ctx, n.URL(), "pub", who{identity: "display-b", role: classroom.RoleDisplay, classroom: "b"})
	if _, err := publishVideo(t, ctx, &pumps, strict, livekit.TrackSource_SCREEN_SHARE); err == nil {
		t.Error("screen share accepted with a classroom_display grant")
	}
}

// TestGrantsMatchRoles: the token grant of each role allows exactly the
// sources the server enforces.
func TestGrantsMatchRoles(t *testing.T) {
	srcs := []livekit.TrackSource{livekit.TrackSource_CAMERA, livekit.TrackSource_MICROPHONE,
		livekit.TrackSource_SCREEN_SHARE, livekit.TrackSource_SCREEN_SHARE_AUDIO}
	for _, r := range classroom.Roles() {
		g := r.Grant()
		for _, s := range srcs {
			if got := g.GetCanPublish() && g.GetCanPublishSource(s); got != r.MayPublish(s) {
				t.Errorf("%s %s: grant %v, server %v", r, s, got, r.MayPublish(s))
			}
		}
		hidden := r == classroom.RoleAdmin || r == classroom.RoleObserver
		if g.Hidden != hidden || g.GetCanPublishData() != (r != classroom.RoleObserver) || !g.GetCanSubscribe() {
			t.Errorf("%s grant %+v", r, g)
		}
	}
}
