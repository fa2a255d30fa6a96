package classroom

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/classcast/classcast/sfu/room"
)

// maxRequestBytes bounds one classcast.req payload.
const maxRequestBytes = 8 << 10

// member is what the rules know about a participant, fixed at join from its
// token attributes (a participant cannot change its own role).
type member struct {
	p             *room.Participant
	identity      string
	explicit      Role // "" when the token carries no (valid) role
	classroom     string
	classroomName string
	mode          Mode // classcast.mode attribute
}

// limits are a participant's token buckets, kept by identity so a
// reconnect does not refill them.
type limits struct {
	req, board *bucket
}

// rules is one room's classroom layer. Every method runs on the room loop,
// except the speaker ticker goroutine, which only posts onto it.
type rules struct {
	cfg  *Config
	m    *metrics
	log  *slog.Logger
	room *room.Room
	tl   Timeline

	members    map[*room.Participant]*member
	byIdentity map[string]*member
	limits     map[string]*limits

	firstMode  Mode // decided by the first joiner
	masterMode Mode // from a master's classcast.mode attribute
	mode       Mode
	maxOnStage int

	st       lessonState
	board    *Board
	speakers *SpeakerDetector
	quit     chan struct{}
	endTimer *time.Timer // meeting.end: closes the room shortly after answering
}

func newRules(s *Service, r *room.Room) *rules {
	tl := s.cfg.Timeline(r.Name())
	if tl == nil {
		tl = NopTimeline{}
	}
	ru := &rules{
		cfg: &s.cfg, m: s.m, log: s.cfg.Logger.With("room", r.Name()), room: r, tl: tl,
		members: map[*room.Participant]*member{}, byIdentity: map[string]*member{}, limits: map[string]*limits{},
		mode: ModeMeeting, maxOnStage: s.cfg.MaxOnStage,
		st:    newLessonState(),
		board: NewBoard(), speakers: NewSpeakerDetector(s.cfg.MaxSpeakers), quit: make(chan struct{}),
	}
	go ru.tickSpeakers()
	return ru
}

// memberOf returns the rules' view of p, reading its token attributes the
// first time (MaySubscribe can run before Joined).
func (ru *rules) memberOf(p *room.Participant) *member {
	if m, ok := ru.members[p]; ok {
		return m
	}
	attrs := p.Info().Attributes
	m := &member{p: p, identity: p.Identity(), classroom: attrs[AttrClassroom], classroomName: attrs[AttrClassroomName]}
	if role, err := ParseRole(attrs[AttrRole]); err == nil {
		m.explicit = role
	}
	if mode, err := ParseMode(attrs[AttrMode]); err == nil {
		m.mode = mode
	}
	ru.members[p] = m
	return m
}

// role is the member's effective role: a token without one is a meeting
// participant in meetings and a classroom display in lessons.
func (ru *rules) role(m *member) Role {
	if m.explicit != "" {
		return m.explicit
	}
	if ru.mode == ModeLesson {
		return RoleDisplay
	}
	return RoleParticipant
}

// classroomOf is the classroom a remote teacher or display belongs to
// (its identity when the token names none); "" for other roles.
func (ru *rules) classroomOf(m *member) string {
	if !ru.role(m).needsClassroom() {
		return ""
	}
	if m.classroom != "" {
		return m.classroom
	}
	return m.identity
}

// roomMeta is the classcast part of the room metadata.
type roomMeta struct {
	Classcast struct {
		Mode       Mode   `json:"mode"`
		MaxOnStage int    `json:"max_on_stage"`
		Course     string `json:"course"`
		Title      string `json:"title"`
	} `json:"classcast"`
}

// refreshMode re-reads the mode and stage limit (metadata first, then the
// master's attribute, then the first joiner) and re-applies subscriptions
// when the mode changed. It reports whether anything changed.
func (ru *rules) refreshMode() bool {
	var md roomMeta
	if s := ru.room.MetadataOnLoop(); s != "" {
		_ = json.Unmarshal([]byte(s), &md)
	}
	mode := ModeMeeting
	switch {
	case md.Classcast.Mode == ModeLesson || md.Classcast.Mode == ModeMeeting:
		mode = md.Classcast.Mode
	case ru.masterMode != "":
		mode = ru.masterMode
	case ru.firstMode != "":
		mode = ru.firstMode
	}
	maxOn := ru.cfg.MaxOnStage
	if md.Classcast.MaxOnStage > 0 {
		maxOn = md.Classcast.MaxOnStage
	}
	changed := mode != ru.mode || maxOn != ru.maxOnStage
	if mode != ru.mode {
		ru.log.Info("room mode", "mode", mode)
		ru.mode = mode
		ru.room.Reconcile()
	}
	ru.maxOnStage = maxOn
	return changed
}

// Joined implements room.Hooks.
func (ru *rules) Joined(r *room.Room, p *room.Participant) {
	m := ru.memberOf(p)
	ru.byIdentity[m.identity] = m
	if ru.firstMode == "" {
		ru.firstMode = ModeMeeting
		switch m.explicit {
		case RoleMaster, RoleRemote, RoleDisplay:
			ru.firstMode = ModeLesson
		}
	}
	if m.explicit == RoleMaster && m.mode != "" {
		ru.masterMode = m.mode
	}
	changed := ru.refreshMode()
	now := ru.cfg.Now()
	role, cls := ru.role(m), ru.classroomOf(m)
	if cls != "" && ru.st.arrive(cls, now) {
		changed = true
	}
	ru.tl.AddEvent("participant.joined", now, map[string]string{"identity": m.identity, "role": string(role), "classroom": cls})
	if changed {
		ru.changed()
	}
	// The joiner's data channel opens after the join: send its initial
	// state and board then.
	p.OnDataReady(func() {
		r.Post(func() {
			if ru.members[p] == nil || ru.byIdentity[m.identity] != m {
				return
			}
			ru.sendState(m)
			ru.sendSnapshot(m)
		})
	})
}

// Left implements room.Hooks.
func (ru *rules) Left(_ *room.Room, p *room.Participant) {
	m := ru.memberOf(p)
	delete(ru.members, p)
	if ru.byIdentity[m.identity] != m {
		return // replaced by a newer connection of the same identity
	}
	delete(ru.byIdentity, m.identity)
	now := ru.cfg.Now()
	cls := ru.classroomOf(m)
	ru.tl.AddEvent("participant.left", now, map[string]string{"identity": m.identity, "classroom": cls})
	if cls != "" && !ru.classroomPresent(cls) && ru.st.depart(cls, now) {
		ru.changed()
	}
}

func (ru *rules) classroomPresent(cls string) bool {
	for _, o := range ru.byIdentity {
		if ru.classroomOf(o) == cls {
			return true
		}
	}
	return false
}

// TrackPublished implements room.Hooks: a track the role may not publish
// (a token with wider grants than its role) is unpublished and refused.
func (ru *rules) TrackPublished(r *room.Room, p *room.Participant, t *livekit.TrackInfo) {
	m := ru.memberOf(p)
	role := ru.role(m)
	if role.MayPublish(t.Source) {
		return
	}
	ru.m.refusedTx.Inc()
	r.UnpublishOnLoop(p, t.Sid)
	msg := fmt.Sprintf("role %s may not publish %s; track unpublished", role, t.Source)
	p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_RequestResponse{RequestResponse: &livekit.RequestResponse{
		Reason: livekit.RequestResponse_NOT_ALLOWED, Message: msg,
	}}})
	ru.log.Info("track refused", "participant", m.identity, "role", role, "source", t.Source.String())
}

// MaySubscribe implements room.Hooks (docs/classroom-protocol.md, "Who
// receives what").
func (ru *rules) MaySubscribe(sub, pub *room.Participant, t *livekit.TrackInfo) bool {
	ms, mp := ru.memberOf(sub), ru.memberOf(pub)
	pubRole := ru.role(mp)
	if !pubRole.MayPublish(t.Source) {
		return false
	}
	if ru.mode == ModeMeeting || pubRole == RoleMaster || pubRole == RoleAdmin {
		return true
	}
	cls := ru.classroomOf(mp)
	onStage := cls != "" && ru.st.onStage(cls)
	// The classroom PC's microphone is the room's sound: only on stage.
	if pubRole == RoleDisplay && t.Source == livekit.TrackSource_MICROPHONE && !onStage {
		return false
	}
	// Never play a classroom's own sound back into it (echo).
	if cls != "" && ru.classroomOf(ms) == cls && t.Type == livekit.TrackType_AUDIO {
		return false
	}
	if ru.role(ms).seesAllClassrooms() {
		return true
	}
	return onStage
}

// Data implements room.Hooks: the classroom topics are consumed here.
func (ru *rules) Data(_ *room.Room, from *room.Participant, dp *livekit.DataPacket) bool {
	u := dp.GetUser()
	if u == nil {
		return false
	}
	switch topic := u.GetTopic(); topic {
	case TopicRequest:
		ru.onRequest(ru.memberOf(from), u.GetPayload())
	case TopicWhiteboard:
		ru.onBoard(ru.memberOf(from), u.GetPayload())
	case TopicState, TopicResponse, TopicNotify:
		// Server-only topics: a client must not speak for the server.
		ru.m.dropped.WithLabelValues(topic, dropSpoofed).Inc()
	default:
		return false
	}
	return true
}

// Closed implements room.Hooks.
func (ru *rules) Closed(*room.Room) {
	close(ru.quit)
	if ru.endTimer != nil {
		ru.endTimer.Stop()
	}
	ru.tl.AddEvent("room.closed", ru.cfg.Now(), nil)
}

func (ru *rules) limitsOf(identity string, now time.Time) *limits {
	l, ok := ru.limits[identity]
	if !ok {
		l = &limits{
			req:   newBucket(ru.cfg.RequestRate, ru.cfg.RequestBurst, now),
			board: newBucket(ru.cfg.BoardRate, ru.cfg.BoardBurst, now),
		}
		ru.limits[identity] = l
	}
	return l
}
