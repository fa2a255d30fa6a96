package classroom

import (
	"fmt"
	"strings"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
)

// Role is what a participant may do, carried in the token attribute
// classcast.role.
type Role string

// The roles of the contract.
const (
	RoleMaster      Role = "master_teacher"
	RoleRemote      Role = "remote_teacher"
	RoleDisplay     Role = "classroom_display"
	RoleAdmin       Role = "admin"
	RoleParticipant Role = "meeting_participant"
	RoleObserver    Role = "observer"
)

// Token attribute names.
const (
	AttrRole          = "classcast.role"
	AttrClassroom     = "classcast.classroom"
	AttrClassroomName = "classcast.classroom_name"
	AttrMode          = "classcast.mode"
)

// Mode is how a room behaves: a lesson (one master, N classrooms) or a
// training meeting (everyone sees everyone).
type Mode string

// Room modes.
const (
	ModeLesson  Mode = "lesson"
	ModeMeeting Mode = "meeting"
)

// Roles lists every role, in the contract's order.
func Roles() []Role {
	return []Role{RoleMaster, RoleRemote, RoleDisplay, RoleAdmin, RoleParticipant, RoleObserver}
}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w: %q (one of %s)", ErrUnknownRole, s, roleNames())
}

func roleNames() string {
	names := make([]string, 0, 6)
	for _, r := range Roles() {
		names = append(names, string(r))
	}
	return strings.Join(names, ", ")
}

// ParseMode validates a mode name ("" is allowed: decided by the room).
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "", ModeLesson, ModeMeeting:
		return Mode(s), nil
	}
	return "", fmt.Errorf("%w: %q (lesson or meeting)", ErrUnknownMode, s)
}

// needsClassroom reports whether the role belongs to one classroom.
func (r Role) needsClassroom() bool { return r == RoleRemote || r == RoleDisplay }

// isStaff: the lesson owner and admins (they may change others).
func (r Role) isStaff() bool { return r == RoleMaster || r == RoleAdmin }

// seesAllClassrooms: who receives every classroom's tracks in a lesson.
func (r Role) seesAllClassrooms() bool { return r.isStaff() || r == RoleObserver }

// Sources is what the role may publish (nil: nothing).
func (r Role) Sources() []livekit.TrackSource {
	switch r {
	case RoleMaster:
		return []livekit.TrackSource{livekit.TrackSource_CAMERA, livekit.TrackSource_MICROPHONE,
			livekit.TrackSource_SCREEN_SHARE, livekit.TrackSource_SCREEN_SHARE_AUDIO}
	case RoleRemote, RoleDisplay:
		return []livekit.TrackSource{livekit.TrackSource_CAMERA, livekit.TrackSource_MICROPHONE}
	case RoleParticipant:
		return []livekit.TrackSource{livekit.TrackSource_CAMERA, livekit.TrackSource_MICROPHONE,
			livekit.TrackSource_SCREEN_SHARE}
	}
	return nil
}

// MayPublish reports whether the role may publish a track of that source.
func (r Role) MayPublish(s livekit.TrackSource) bool {
	for _, x := range r.Sources() {
		if x == s {
			return true
		}
	}
	return false
}

// Grant returns the token grant matching the role (contract table); room
// and roomJoin are left to the caller.
func (r Role) Grant() *auth.VideoGrant {
	g := &auth.VideoGrant{}
	srcs := r.Sources()
	g.SetCanPublish(len(srcs) > 0)
	if len(srcs) > 0 {
		g.SetCanPublishSources(srcs)
	}
	g.SetCanSubscribe(true)
	g.SetCanPublishData(r != RoleObserver)
	// Roles live in attributes: a participant must not rewrite its own.
	g.SetCanUpdateOwnMetadata(false)
	switch r {
	case RoleAdmin:
		g.Hidden, g.RoomAdmin, g.RoomRecord = true, true, true
	case RoleObserver:
		g.Hidden = true
	}
	return g
}

// TokenAttributes returns the participant attributes of a classcast token.
func TokenAttributes(r Role, classroom, classroomName string, mode Mode) (map[string]string, error) {
	if r.needsClassroom() && classroom == "" {
		return nil, fmt.Errorf("%w: %s", ErrMissingClassroom, r)
	}
	attrs := map[string]string{AttrRole: string(r)}
	if classroom != "" {
		attrs[AttrClassroom] = classroom
	}
	if classroomName != "" {
		attrs[AttrClassroomName] = classroomName
	}
	if mode != "" {
		attrs[AttrMode] = string(mode)
	}
	return attrs, nil
}
