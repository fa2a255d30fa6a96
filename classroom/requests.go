package classroom

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/livekit/protocol/livekit"
)

// handler serves one request type. It returns whether the shared state
// changed (then the version is bumped and everyone is told) or a refusal;
// a refused request must leave every piece of state as it was.
type handler func(ru *rules, m *member, req *Request, now time.Time) (bool, *refusal)

// endGrace is how long meeting.end waits before closing the room.
const endGrace = 300 * time.Millisecond

var handlers = map[string]handler{
	ReqQuestionRaise:   (*rules).questionRaise,
	ReqQuestionForward: (*rules).questionForward,
	ReqQuestionDismiss: (*rules).questionDismiss,
	ReqStageAdd:        (*rules).stageAdd,
	ReqStageRemove:     (*rules).stageRemove,
	ReqMute:            (*rules).mute,
	ReqRequestUnmute:   (*rules).requestUnmute,
	ReqRemove:          (*rules).remove,
	ReqLessonStart:     (*rules).lessonStart,
	ReqLessonEnd:       (*rules).lessonEnd,
	ReqChapterMark:     (*rules).chapterMark,
	ReqHandRaise:       (*rules).handRaise,
	ReqHandLower:       (*rules).handLower,
	ReqMuteAll:         (*rules).muteAll,
	ReqSpotlight:       (*rules).spotlight,
	ReqMeetingEnd:      (*rules).meetingEnd,
	ReqStateSync:       (*rules).stateSync,
}

// onRequest handles one classcast.req payload.
func (ru *rules) onRequest(m *member, payload []byte) {
	now := ru.cfg.Now()
	lim := ru.limitsOf(m.identity, now)
	if !lim.req.take(now) {
		ru.m.dropped.WithLabelValues(TopicRequest, dropRateLimited).Inc()
		if lim.req.shouldTell(now) {
			ru.respond(m, "", refuse(codeRateLimited, "too many requests; excess dropped"))
		}
		return
	}
	if len(payload) > maxRequestBytes {
		ru.m.dropped.WithLabelValues(TopicRequest, dropOversized).Inc()
		ru.respond(m, "", refuse(codeBadRequest, fmt.Sprintf("request of %d bytes dropped (limit %d)", len(payload), maxRequestBytes)))
		return
	}
	var req Request
	if err := json.Unmarshal(payload, &req); err != nil {
		ru.m.dropped.WithLabelValues(TopicRequest, dropMalformed).Inc()
		ru.respond(m, "", refuse(codeBadRequest, "malformed request JSON: "+err.Error()))
		return
	}
	h, ok := handlers[req.Type]
	if !ok {
		ru.m.requests.WithLabelValues("unknown", codeBadRequest).Inc()
		ru.respond(m, req.ID, refuse(codeBadRequest, fmt.Sprintf("unknown request type %q", req.Type)))
		return
	}
	modeChanged := ru.refreshMode()
	changed, ref := h(ru, m, &req, now)
	result := "ok"
	if ref != nil {
		result = ref.code
	}
	ru.m.requests.WithLabelValues(req.Type, result).Inc()
	ru.respond(m, req.ID, ref)
	if changed || modeChanged {
		ru.changed()
	}
	if req.Type == ReqMeetingEnd && ref == nil && ru.endTimer == nil {
		// Let the answer (and the data channels' queues) go out before the
		// peer connections close; everyone then gets a leave.
		r, why := ru.room, "meeting ended by "+m.identity
		ru.endTimer = time.AfterFunc(endGrace, func() { r.CloseAsync(why) })
	}
}

func notAllowed(role Role, what string) *refusal {
	return refuse(codeNotAllowed, fmt.Sprintf("role %s may not %s", role, what))
}

func (ru *rules) staffOnly(m *member, what string) *refusal {
	if r := ru.role(m); !r.isStaff() {
		return notAllowed(r, what)
	}
	return nil
}

func (ru *rules) needMode(mode Mode, what string) *refusal {
	if ru.mode != mode {
		return refuse(codeBadRequest, fmt.Sprintf("%s needs a %s room (this one is a %s)", what, mode, ru.mode))
	}
	return nil
}

func (ru *rules) questionRaise(m *member, req *Request, now time.Time) (bool, *refusal) {
	role := ru.role(m)
	if !role.needsClassroom() {
		return false, notAllowed(role, "raise a question (only a classroom's teacher or display)")
	}
	text := strings.TrimSpace(req.Text)
	if text == "" || len(text) > maxQuestionText {
		return false, refuse(codeBadRequest, fmt.Sprintf("question text must be 1..%d bytes", maxQuestionText))
	}
	cls := ru.classroomOf(m)
	if ru.st.openCount(cls) >= maxOpenPerClassroom || ru.st.openCount("") >= maxOpenQuestions {
		return false, refuse(codeLimit, fmt.Sprintf("classroom %s has %d open questions", cls, ru.st.openCount(cls)))
	}
	ru.st.nextQ++
	q := &Question{ID: "q" + strconv.Itoa(ru.st.nextQ), Classroom: cls, ClassroomName: m.classroomName,
		By: m.identity, Text: text, State: QuestionLocal, RaisedAt: ms(now)}
	ru.st.questions = append(ru.st.questions, q)
	ru.tl.AddEvent("question.raised", now, *q)
	return true, nil
}

func (ru *rules) questionForward(m *member, req *Request, now time.Time) (bool, *refusal) {
	if role := ru.role(m); role != RoleRemote {
		return false, notAllowed(role, "forward questions (only the classroom's remote teacher)")
	}
	q := ru.st.question(req.QuestionID)
	switch {
	case q == nil:
		return false, refuse(codeNotFound, fmt.Sprintf("no question %q", req.QuestionID))
	case q.Classroom != ru.classroomOf(m):
		return false, refuse(codeNotAllowed, fmt.Sprintf("question %s belongs to classroom %s", q.ID, q.Classroom))
	case q.State != QuestionLocal:
		return false, refuse(codeBadRequest, fmt.Sprintf("question %s is %s, not local", q.ID, q.State))
	}
	q.State = QuestionForwarded
	ru.tl.AddEvent("question.forwarded", now, *q)
	return true, nil
}

func (ru *rules) questionDismiss(m *member, req *Request, now time.Time) (bool, *refusal) {
	role := ru.role(m)
	if !role.isStaff() && role != RoleRemote {
		return false, notAllowed(role, "dismiss questions")
	}
	q := ru.st.question(req.QuestionID)
	switch {
	case q == nil:
		return false, refuse(codeNotFound, fmt.Sprintf("no question %q", req.QuestionID))
	case role == RoleRemote && q.Classroom != ru.classroomOf(m):
		return false, refuse(codeNotAllowed, fmt.Sprintf("question %s belongs to classroom %s", q.ID, q.Classroom))
	case q.State == QuestionDone:
		return false, refuse(codeBadRequest, fmt.Sprintf("question %s is already done", q.ID))
	}
	q.State = QuestionDone
	ru.st.pruneDone()
	ru.tl.AddEvent("question.dismissed", now, map[string]string{"id": q.ID, "by": m.identity})
	return true, nil
}

func (ru *rules) stageAdd(m *member, req *Request, now time.Time) (bool, *refusal) {
	if r := ru.staffOnly(m, "put classrooms on stage"); r != nil {
		return false, r
	}
	if r := ru.needMode(ModeLesson, "stage"); r != nil {
		return false, r
	}
	cls := req.Classroom
	switch {
	case cls == "":
		return false, refuse(codeBadRequest, "stage.add without classroom")
	case !ru.st.present(cls):
		return false, refuse(codeNotFound, fmt.Sprintf("classroom %s is not present", cls))
	case ru.st.onStage(cls):
		return false, nil
	case len(ru.st.stage) >= ru.maxOnStage:
		return false, refuse(codeLimit, fmt.Sprintf("%d classroom(s) on stage already (max_on_stage %d)", len(ru.st.stage), ru.maxOnStage))
	}
	ru.st.stage = append(ru.st.stage, StageEntry{Classroom: cls, Since: ms(now), By: m.identity})
	ru.st.setQuestions(cls, QuestionForwarded, QuestionOnStage)
	ru.tl.AddEvent("stage.on", now, map[string]string{"classroom": cls, "by": m.identity})
	ru.room.Reconcile()
	return true, nil
}

func (ru *rules) stageRemove(m *member, req *Request, now time.Time) (bool, *refusal) {
	role := ru.role(m)
	switch {
	case role.isStaff():
	case role == RoleRemote && ru.classroomOf(m) == req.Classroom:
	case role == RoleRemote:
		return false, refuse(codeNotAllowed, fmt.Sprintf("a remote teacher may end only its own classroom's stage turn (%s)", ru.classroomOf(m)))
	default:
		return false, notAllowed(role, "end a stage turn")
	}
	i := ru.st.stageIndex(req.Classroom)
	if i < 0 {
		return false, refuse(codeNotFound, fmt.Sprintf("classroom %q is not on stage", req.Classroom))
	}
	ru.takeOffStage(i, m.identity, now)
	return true, nil
}

func (ru *rules) takeOffStage(i int, by string, now time.Time) {
	cls := ru.st.stage[i].Classroom
	ru.st.stage = append(ru.st.stage[:i:i], ru.st.stage[i+1:]...)
	ru.st.setQuestions(cls, QuestionOnStage, QuestionDone)
	ru.tl.AddEvent("stage.off", now, map[string]string{"classroom": cls, "by": by})
	ru.room.Reconcile()
}

// target finds the participant a request names.
func (ru *rules) target(identity string) (*member, *refusal) {
	if identity == "" {
		return nil, refuse(codeBadRequest, "identity is required")
	}
	t, ok := ru.byIdentity[identity]
	if !ok {
		return nil, refuse(codeNotFound, fmt.Sprintf("participant %q is not in the room", identity))
	}
	return t, nil
}

// tracksOf lists a participant's published tracks of a source.
func tracksOf(t *member, src livekit.TrackSource) []*livekit.TrackInfo {
	var out []*livekit.TrackInfo
	for _, ti := range t.p.Info().Tracks {
		if ti.Source == src {
			out = append(out, ti)
		}
	}
	return out
}

func parseSource(s string) (livekit.TrackSource, *refusal) {
	switch s {
	case "microphone", "":
		return livekit.TrackSource_MICROPHONE, nil
	case "camera":
		return livekit.TrackSource_CAMERA, nil
	}
	return 0, refuse(codeBadRequest, fmt.Sprintf("source must be microphone or camera, not %q", s))
}

func (ru *rules) mute(m *member, req *Request, now time.Time) (bool, *refusal) {
	if r := ru.staffOnly(m, "mute others"); r != nil {
		return false, r
	}
	src, r := parseSource(req.Source)
	if r != nil {
		return false, r
	}
	t, r := ru.target(req.Identity)
	if r != nil {
		return false, r
	}
	tracks := tracksOf(t, src)
	if len(tracks) == 0 {
		return false, refuse(codeNotFound, fmt.Sprintf("%s publishes no %s", t.identity, req.Source))
	}
	for _, ti := range tracks {
		_, _ = t.p.AdminMute(ti.Sid, true)
	}
	ru.tl.AddEvent("participant.muted", now, map[string]string{"identity": t.identity, "source": src.String(), "by": m.identity})
	return false, nil
}

func (ru *rules) requestUnmute(m *member, req *Request, now time.Time) (bool, *refusal) {
	if r := ru.staffOnly(m, "ask others to unmute"); r != nil {
		return false, r
	}
	t, r := ru.target(req.Identity)
	if r != nil {
		return false, r
	}
	b, _ := json.Marshal(map[string]string{"type": "unmute_requested", "by": m.identity, "source": "microphone"})
	ru.send(TopicNotify, b, t.identity)
	ru.tl.AddEvent("participant.unmute_requested", now, map[string]string{"identity": t.identity, "by": m.identity})
	return false, nil
}

func (ru *rules) remove(m *member, req *Request, now time.Time) (bool, *refusal) {
	if r := ru.staffOnly(m, "remove participants"); r != nil {
		return false, r
	}
	t, r := ru.target(req.Identity)
	if r != nil {
		return false, r
	}
	switch {
	case t == m:
		return false, refuse(codeBadRequest, "use leave to remove yourself")
	case ru.role(t) == RoleAdmin && ru.role(m) != RoleAdmin:
		return false, refuse(codeNotAllowed, "only an admin may remove an admin")
	}
	ru.tl.AddEvent("participant.removed", now, map[string]string{"identity": t.identity, "by": m.identity})
	ru.room.KickOnLoop(t.p, "removed by "+m.identity)
	return false, nil
}

func (ru *rules) lessonStart(m *member, _ *Request, now time.Time) (bool, *refusal) {
	if r := ru.staffOnly(m, "start the lesson"); r != nil {
		return false, r
	}
	if ru.st.lesson.State == LessonLive {
		return false, refuse(codeBadRequest, "the lesson is already live")
	}
	ru.st.lesson = LessonInfo{State: LessonLive, StartedAt: ms(now)}
	ru.tl.AddEvent("lesson.start", now, map[string]string{"by": m.identity})
	return true, nil
}

func (ru *rules) lessonEnd(m *member, _ *Request, now time.Time) (bool, *refusal) {
	if r := ru.staffOnly(m, "end the lesson"); r != nil {
		return false, r
	}
	if ru.st.lesson.State != LessonLive {
		return false, refuse(codeBadRequest, "the lesson is not live")
	}
	ru.st.lesson.State, ru.st.lesson.EndedAt = LessonEnded, ms(now)
	for len(ru.st.stage) > 0 {
		ru.takeOffStage(0, m.identity, now)
	}
	ru.tl.AddEvent("lesson.end", now, map[string]any{"by": m.identity, "attendance": ru.stateFor(m).Attendance})
	return true, nil
}

func (ru *rules) chapterMark(m *member, req *Request, now time.Time) (bool, *refusal) {
	if r := ru.staffOnly(m, "mark chapters"); r != nil {
		return false, r
	}
	title := strings.TrimSpace(req.Title)
	switch {
	case title == "" || len(title) > maxTitle:
		return false, refuse(codeBadRequest, fmt.Sprintf("chapter title must be 1..%d bytes", maxTitle))
	case len(ru.st.chapters) >= maxChapters:
		return false, refuse(codeLimit, fmt.Sprintf("%d chapters already", maxChapters))
	}
	ru.st.chapters = append(ru.st.chapters, Chapter{Title: title, At: ms(now)})
	ru.tl.AddChapter(now, title)
	return true, nil
}

func (ru *rules) handRaise(m *member, _ *Request, now time.Time) (bool, *refusal) {
	if role := ru.role(m); role != RoleParticipant {
		return false, notAllowed(role, "raise a hand (meeting participants only)")
	}
	if ru.st.handIndex(m.identity) >= 0 {
		return false, nil
	}
	if len(ru.st.hands) >= maxHands {
		return false, refuse(codeLimit, "too many raised hands")
	}
	ru.st.hands = append(ru.st.hands, Hand{Identity: m.identity, Since: ms(now)})
	ru.tl.AddEvent("hand.raised", now, map[string]string{"identity": m.identity})
	return true, nil
}

func (ru *rules) handLower(m *member, req *Request, now time.Time) (bool, *refusal) {
	who := req.Identity
	if who == "" {
		who = m.identity
	}
	if role := ru.role(m); who != m.identity && !role.isStaff() {
		return false, notAllowed(role, "lower someone else's hand")
	}
	i := ru.st.handIndex(who)
	if i < 0 {
		return false, refuse(codeNotFound, fmt.Sprintf("%s has no raised hand", who))
	}
	ru.st.hands = append(ru.st.hands[:i:i], ru.st.hands[i+1:]...)
	ru.tl.AddEvent("hand.lowered", now, map[string]string{"identity": who, "by": m.identity})
	return true, nil
}

func (ru *rules) muteAll(m *member, _ *Request, now time.Time) (bool, *refusal) {
	if r := ru.staffOnly(m, "mute everyone"); r != nil {
		return false, r
	}
	if r := ru.needMode(ModeMeeting, "meeting.mute_all"); r != nil {
		return false, r
	}
	for _, t := range ru.byIdentity {
		if ru.role(t).isStaff() {
			continue
		}
		for _, ti := range tracksOf(t, livekit.TrackSource_MICROPHONE) {
			if !ti.Muted {
				_, _ = t.p.AdminMute(ti.Sid, true)
			}
		}
	}
	ru.tl.AddEvent("meeting.mute_all", now, map[string]string{"by": m.identity})
	return false, nil
}

func (ru *rules) spotlight(m *member, req *Request, now time.Time) (bool, *refusal) {
	if r := ru.staffOnly(m, "spotlight"); r != nil {
		return false, r
	}
	if r := ru.needMode(ModeMeeting, "meeting.spotlight"); r != nil {
		return false, r
	}
	if req.Identity != "" {
		if _, r := ru.target(req.Identity); r != nil {
			return false, r
		}
	}
	if ru.st.spotlight == req.Identity {
		return false, nil
	}
	ru.st.spotlight = req.Identity
	ru.tl.AddEvent("meeting.spotlight", now, map[string]string{"identity": req.Identity, "by": m.identity})
	return true, nil
}

func (ru *rules) meetingEnd(m *member, _ *Request, now time.Time) (bool, *refusal) {
	if r := ru.staffOnly(m, "end the meeting"); r != nil {
		return false, r
	}
	if r := ru.needMode(ModeMeeting, "meeting.end"); r != nil {
		return false, r
	}
	ru.tl.AddEvent("meeting.end", now, map[string]string{"by": m.identity})
	return false, nil // the room closes after the answer (onRequest)
}

func (ru *rules) stateSync(m *member, _ *Request, _ time.Time) (bool, *refusal) {
	ru.sendState(m)
	return false, nil
}
