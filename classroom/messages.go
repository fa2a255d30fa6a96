package classroom

// Data topics of the contract.
const (
	TopicRequest    = "classcast.req"
	TopicResponse   = "classcast.res"
	TopicState      = "classcast.state"
	TopicWhiteboard = "classcast.wb"
	// TopicNotify carries server notices to one participant (unmute requests).
	TopicNotify = "classcast.notify"
)

// Request types (classcast.req "type").
const (
	ReqQuestionRaise   = "question.raise"
	ReqQuestionForward = "question.forward"
	ReqQuestionDismiss = "question.dismiss"
	ReqStageAdd        = "stage.add"
	ReqStageRemove     = "stage.remove"
	ReqMute            = "participant.mute"
	ReqRequestUnmute   = "participant.request_unmute"
	ReqRemove          = "participant.remove"
	ReqLessonStart     = "lesson.start"
	ReqLessonEnd       = "lesson.end"
	ReqChapterMark     = "chapter.mark"
	ReqHandRaise       = "hand.raise"
	ReqHandLower       = "hand.lower"
	ReqMuteAll         = "meeting.mute_all"
	ReqSpotlight       = "meeting.spotlight"
	ReqMeetingEnd      = "meeting.end"
	ReqStateSync       = "state.sync"
)

// RequestTypes lists every request type (also the metric label set).
func RequestTypes() []string {
	return []string{ReqQuestionRaise, ReqQuestionForward, ReqQuestionDismiss, ReqStageAdd, ReqStageRemove,
		ReqMute, ReqRequestUnmute, ReqRemove, ReqLessonStart, ReqLessonEnd, ReqChapterMark, ReqHandRaise,
		ReqHandLower, ReqMuteAll, ReqSpotlight, ReqMeetingEnd, ReqStateSync}
}

// Request is a client request on classcast.req.
type Request struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Text       string `json:"text,omitempty"`
	QuestionID string `json:"question_id,omitempty"`
	Classroom  string `json:"classroom,omitempty"`
	Identity   string `json:"identity,omitempty"`
	Source     string `json:"source,omitempty"`
	Title      string `json:"title,omitempty"`
}

// Response answers a request on classcast.res (to the requester only).
type Response struct {
	ID      string `json:"id"`
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
}

// State is the classcast.state message, filtered per recipient.
type State struct {
	Version    uint64       `json:"version"`
	Mode       Mode         `json:"mode"`
	Lesson     LessonInfo   `json:"lesson"`
	Stage      []StageEntry `json:"stage"`
	MaxOnStage int          `json:"max_on_stage"`
	Questions  []Question   `json:"questions"`
	Hands      []Hand       `json:"hands"`
	Spotlight  string       `json:"spotlight"`
	Chapters   []Chapter    `json:"chapters"`
	Attendance []Attendance `json:"attendance"`
}

// Lesson states.
const (
	LessonIdle  = "idle"
	LessonLive  = "live"
	LessonEnded = "ended"
)

// LessonInfo is the lesson's lifecycle; times are Unix milliseconds.
type LessonInfo struct {
	State     string `json:"state"`
	StartedAt int64  `json:"started_at"`
	EndedAt   int64  `json:"ended_at"`
}

// StageEntry is a classroom on stage.
type StageEntry struct {
	Classroom string `json:"classroom"`
	Since     int64  `json:"since"`
	By        string `json:"by"`
}

// Question states.
const (
	QuestionLocal     = "local"
	QuestionForwarded = "forwarded"
	QuestionOnStage   = "on_stage"
	QuestionDone      = "done"
)

// Question is a raised question and where it is in moderation.
type Question struct {
	ID            string `json:"id"`
	Classroom     string `json:"classroom"`
	ClassroomName string `json:"classroom_name"`
	By            string `json:"by"`
	Text          string `json:"text"`
	State         string `json:"state"`
	RaisedAt      int64  `json:"raised_at"`
}

// Hand is a raised hand in a meeting.
type Hand struct {
	Identity string `json:"identity"`
	Since    int64  `json:"since"`
}

// Chapter is a chapter mark.
type Chapter struct {
	Title string `json:"title"`
	At    int64  `json:"at"`
}

// Attendance is one classroom's presence.
type Attendance struct {
	Classroom string `json:"classroom"`
	JoinedAt  int64  `json:"joined_at"`
	LeftAt    int64  `json:"left_at"`
	Present   bool   `json:"present"`
}
