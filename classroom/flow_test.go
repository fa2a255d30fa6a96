package classroom_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"go.uber.org/goleak"

	"github.com/classcast/classcast/classroom"
	client "github.com/classcast/classcast/client-sdk/go"
)

// TestQuestionFlowStage: raise in a classroom → its remote teacher sees it
// → forwards → the master sees the lesson-wide queue → stage: the
// classroom's microphone and camera reach the other classroom → the remote
// teacher ends the turn → unsubscribed again.
func TestQuestionFlowStage(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	n := startNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()

	master := join(t, ctx, n.URL(), "lesson", who{identity: "master", role: classroom.RoleMaster}, client.WithAutoDrain())
	mMic := newAudioSource("master-mic")
	mMicTrack := publishAudio(t, ctx, master, mMic)
	mMic.run(ctx, &pumps, 20*time.Millisecond, 0)

	rtA := join(t, ctx, n.URL(), "lesson", who{identity: "teacher-a", role: classroom.RoleRemote, classroom: "a"}, client.WithAutoDrain())
	dA := join(t, ctx, n.URL(), "lesson", who{identity: "display-a", role: classroom.RoleDisplay, classroom: "a"}, client.WithAutoDrain())
	dB := join(t, ctx, n.URL(), "lesson", who{identity: "display-b", role: classroom.RoleDisplay, classroom: "b"}, client.WithAutoDrain())
	aMic := newAudioSource("a-mic")
	aMicTrack := publishAudio(t, ctx, dA, aMic)
	aMic.run(ctx, &pumps, 20*time.Millisecond, 0)
	aCam, err := publishVideo(t, ctx, &pumps, dA, livekit.TrackSource_CAMERA)
	if err != nil {
		t.Fatal(err)
	}

	// Lesson media: the master reaches every classroom; the class view
	// reaches only the master; the classroom's mic reaches nobody.
	waitFor(t, 10*time.Second, "master mic at classroom b", func() bool { return receiving(dB, mMicTrack.SID()) })
	waitFor(t, 10*time.Second, "class view of a at the master", func() bool { return receiving(master, aCam.SID()) })
	time.Sleep(500 * time.Millisecond)
	for _, c := range []struct {
		p   *peer
		sid string
	}{{dB, aCam.SID()}, {dB, aMicTrack.SID()}, {master, aMicTrack.SID()}, {rtA, aMicTrack.SID()}} {
		if subscribed(c.p, c.sid) {
			t.Errorf("%s receives %s off stage", c.p.id, c.sid)
		}
	}
	st := master.waitState("lesson mode with two classrooms present", func(s *classroom.State) bool {
		return s.Mode == classroom.ModeLesson && len(s.Attendance) == 2
	})
	master.mu.Lock()
	stateBytes := master.stateBytes
	master.mu.Unlock()
	t.Logf("state at the master: %d bytes, version %d", stateBytes, st.Version)

	// Raise → local queue of classroom a only.
	if r := dA.do(classroom.ReqQuestionRaise, map[string]any{"text": "Why is 1/3 bigger than 1/4?"}); !r.OK {
		t.Fatalf("raise: %+v", r)
	}
	st = rtA.waitState("local question", func(s *classroom.State) bool {
		return len(s.Questions) == 1 && s.Questions[0].State == classroom.QuestionLocal
	})
	q := st.Questions[0]
	if q.Classroom != "a" || q.By != "display-a" || q.RaisedAt == 0 || q.ClassroomName != "Class a" {
		t.Errorf("question %+v", q)
	}
	time.Sleep(200 * time.Millisecond)
	if s := master.latest(); len(s.Questions) != 0 {
		t.Errorf("master sees a local question: %+v", s.Questions)
	}
	if s := dB.latest(); len(s.Questions) != 0 {
		t.Errorf("classroom b sees classroom a's question: %+v", s.Questions)
	}

	// Forward → lesson-wide queue at the master.
	if r := rtA.do(classroom.ReqQuestionForward, map[string]any{"question_id": q.ID}); !r.OK {
		t.Fatalf("forward: %+v", r)
	}
	master.waitState("forwarded question", func(s *classroom.State) bool {
		return len(s.Questions) == 1 && s.Questions[0].State == classroom.QuestionForwarded && s.Questions[0].Classroom == "a"
	})

	// Stage: a's mic and camera reach classroom b and the master.
	start := time.Now()
	if r := master.do(classroom.ReqStageAdd, map[string]any{"classroom": "a"}); !r.OK {
		t.Fatalf("stage.add: %+v", r)
	}
	waitFor(t, 10*time.Second, "a's mic at classroom b", func() bool { return receiving(dB, aMicTrack.SID()) })
	t.Logf("stage on → classroom b receives a's audio after %v", time.Since(start).Round(time.Millisecond))
	waitFor(t, 10*time.Second, "a's camera at classroom b", func() bool { return receiving(dB, aCam.SID()) })
	waitFor(t, 10*time.Second, "a's mic at the master", func() bool { return receiving(master, aMicTrack.SID()) })
	if subscribed(rtA, aMicTrack.SID()) {
		t.Error("classroom a hears itself (echo)")
	}
	st = master.waitState("a on stage", func(s *classroom.State) bool {
		return len(s.Stage) == 1 && s.Stage[0].Classroom == "a" && len(s.Questions) == 1 && s.Questions[0].State == classroom.QuestionOnStage
	})
	if st.Stage[0].By != "master" || st.MaxOnStage != 1 {
		t.Errorf("stage %+v max %d", st.Stage, st.MaxOnStage)
	}
	// At most max_on_stage (1): b cannot join the stage now.
	if r := master.do(classroom.ReqStageAdd, map[string]any{"classroom": "b"}); r.OK || r.Error != "limit" {
		t.Errorf("second classroom on stage: %+v, want limit", r)
	}

	// The remote teacher ends its turn → unsubscribed again.
	start = time.Now()
	if r := rtA.do(classroom.ReqStageRemove, map[string]any{"classroom": "a"}); !r.OK {
		t.Fatalf("stage.remove: %+v", r)
	}
	waitFor(t, 10*time.Second, "a's mic gone from classroom b", func() bool { return !subscribed(dB, aMicTrack.SID()) })
	t.Logf("stage off → classroom b unsubscribed after %v", time.Since(start).Round(time.Millisecond))
	rm, _ := n.Rooms().Get("lesson")
	pb, _ := rm.Participant("display-b")
	for _, sid := range pb.Subscriptions() {
		if sid == aMicTrack.SID() || sid == aCam.SID() {
			t.Errorf("server still forwards %s to classroom b", sid)
		}
	}
	master.waitState("stage empty, question done", func(s *classroom.State) bool {
		return len(s.Stage) == 0 && len(s.Questions) == 0 // done questions are not in the master's queue
	})
	rtA.waitState("question done at a", func(s *classroom.State) bool {
		return len(s.Questions) == 1 && s.Questions[0].State == classroom.QuestionDone
	})
	if !receiving(dB, mMicTrack.SID()) {
		t.Error("classroom b lost the master")
	}
}
