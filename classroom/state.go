package classroom

import (
	"encoding/json"
	"time"

	"github.com/livekit/protocol/livekit"
)

// Bounds that keep the state message well under one data message.
const (
	maxOpenPerClassroom = 10
	maxOpenQuestions    = 200
	maxDoneQuestions    = 50
	maxChapters         = 500
	maxQuestionText     = 500
	maxTitle            = 200
	maxHands            = 500
)

// attendanceRec is one classroom's presence.
type attendanceRec struct {
	Attendance
}

// lessonState is the moderated state of a room, keyed by identity and
// classroom (never by sid) so it survives reconnects.
type lessonState struct {
	version    uint64
	lesson     LessonInfo
	stage      []StageEntry
	questions  []*Question
	nextQ      int
	hands      []Hand
	spotlight  string
	chapters   []Chapter
	attendance map[string]*attendanceRec
	order      []string // classrooms in order of first arrival
}

func newLessonState() lessonState {
	return lessonState{lesson: LessonInfo{State: LessonIdle}, attendance: map[string]*attendanceRec{}}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// arrive marks a classroom present; it reports a change.
func (s *lessonState) arrive(cls string, now time.Time) bool {
	a, ok := s.attendance[cls]
	if !ok {
		s.attendance[cls] = &attendanceRec{Attendance{Classroom: cls, JoinedAt: ms(now), Present: true}}
		s.order = append(s.order, cls)
		return true
	}
	if a.Present {
		return false
	}
	a.Present, a.LeftAt = true, 0
	return true
}

// depart marks a classroom absent (its last participant left).
func (s *lessonState) depart(cls string, now time.Time) bool {
	a, ok := s.attendance[cls]
	if !ok || !a.Present {
		return false
	}
	a.Present, a.LeftAt = false, ms(now)
	return true
}

func (s *lessonState) present(cls string) bool {
	a, ok := s.attendance[cls]
	return ok && a.Present
}

func (s *lessonState) onStage(cls string) bool { return s.stageIndex(cls) >= 0 }

func (s *lessonState) stageIndex(cls string) int {
	for i, e := range s.stage {
		if e.Classroom == cls {
			return i
		}
	}
	return -1
}

func (s *lessonState) question(id string) *Question {
	for _, q := range s.questions {
		if q.ID == id {
			return q
		}
	}
	return nil
}

// openCount counts questions not yet done (in one classroom when cls != "").
func (s *lessonState) openCount(cls string) int {
	n := 0
	for _, q := range s.questions {
		if q.State != QuestionDone && (cls == "" || q.Classroom == cls) {
			n++
		}
	}
	return n
}

// setQuestions moves a classroom's questions from one state to another.
func (s *lessonState) setQuestions(cls, from, to string) {
	for _, q := range s.questions {
		if q.Classroom == cls && q.State == from {
			q.State = to
		}
	}
	s.pruneDone()
}

// pruneDone keeps only the newest maxDoneQuestions done questions.
func (s *lessonState) pruneDone() {
	done := 0
	for _, q := range s.questions {
		if q.State == QuestionDone {
			done++
		}
	}
	if done <= maxDoneQuestions {
		return
	}
	out := s.questions[:0]
	for _, q := range s.questions {
		if q.State == QuestionDone && done > maxDoneQuestions {
			done--
			continue
		}
		out = append(out, q)
	}
	s.questions = out
}

func (s *lessonState) handIndex(identity string) int {
	for i, h := range s.hands {
		if h.Identity == identity {
			return i
		}
	}
	return -1
}

// viewKey groups recipients that see the same state (questions filter).
func (ru *rules) viewKey(m *member) string {
	switch ru.role(m) {
	case RoleAdmin:
		return "admin"
	case RoleMaster, RoleObserver:
		return "lesson"
	case RoleRemote, RoleDisplay:
		return "classroom:" + ru.classroomOf(m)
	}
	return "none"
}

// stateFor builds the state as m sees it.
func (ru *rules) stateFor(m *member) *State {
	s := &ru.st
	out := &State{
		Version: s.version, Mode: ru.mode, Lesson: s.lesson, Stage: append([]StageEntry{}, s.stage...),
		MaxOnStage: ru.maxOnStage, Questions: []Question{}, Hands: append([]Hand{}, s.hands...),
		Spotlight: s.spotlight, Chapters: append([]Chapter{}, s.chapters...), Attendance: []Attendance{},
	}
	role, cls := ru.role(m), ru.classroomOf(m)
	for _, q := range s.questions {
		var visible bool
		switch role {
		case RoleAdmin:
			visible = true
		case RoleMaster, RoleObserver:
			visible = q.State == QuestionForwarded || q.State == QuestionOnStage
		case RoleRemote, RoleDisplay:
			visible = q.Classroom == cls
		}
		if visible {
			out.Questions = append(out.Questions, *q)
		}
	}
	for _, c := range s.order {
		out.Attendance = append(out.Attendance, s.attendance[c].Attendance)
	}
	return out
}

// changed bumps the version and tells everyone.
func (ru *rules) changed() {
	ru.st.version++
	ru.broadcastState()
}

// broadcastState sends everyone the state, encoded once per view.
func (ru *rules) broadcastState() {
	groups := map[string][]string{}
	sample := map[string]*member{}
	for _, p := range ru.room.ParticipantsOnLoop() {
		m := ru.memberOf(p)
		k := ru.viewKey(m)
		groups[k] = append(groups[k], m.identity)
		sample[k] = m
	}
	for k, ids := range groups {
		b, err := json.Marshal(ru.stateFor(sample[k]))
		if err != nil {
			continue
		}
		ru.send(TopicState, b, ids...)
	}
}

func (ru *rules) sendState(m *member) {
	b, err := json.Marshal(ru.stateFor(m))
	if err == nil {
		ru.send(TopicState, b, m.identity)
	}
}

func (ru *rules) sendSnapshot(m *member) {
	for _, part := range ru.board.Snapshot() {
		ru.send(TopicWhiteboard, part, m.identity)
	}
}

// respond answers a request (to the requester only).
func (ru *rules) respond(m *member, id string, r *refusal) {
	res := Response{ID: id, OK: r == nil}
	if r != nil {
		res.Error, res.Message = r.code, r.message
	}
	b, err := json.Marshal(res)
	if err == nil {
		ru.send(TopicResponse, b, m.identity)
	}
}

// send delivers a reliable server packet; with no identities, to everyone.
func (ru *rules) send(topic string, payload []byte, to ...string) {
	t := topic
	ru.room.SendDataOnLoop(&livekit.DataPacket{
		Kind:  livekit.DataPacket_RELIABLE, //nolint:staticcheck // still read by clients
		Value: &livekit.DataPacket_User{User: &livekit.UserPacket{Topic: &t, Payload: payload}},
	}, to...)
}
