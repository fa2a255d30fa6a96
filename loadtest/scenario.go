package loadtest

import (
	"context"
	"fmt"

	"github.com/livekit/protocol/livekit"
)

// Roles of participants; the report aggregates the scenario's measured role.
const (
	roleMaster      = "master"
	roleClassroom   = "classroom"
	roleParticipant = "participant"
)

// Track names the subscription rules key on.
const (
	trackCamera      = "camera"
	trackWhiteboard  = "whiteboard"
	trackMic         = "mic"
	trackClassView   = "classview"
	trackStageCamera = "stage-camera"
	trackStageMic    = "stage-mic"
)

// plan is what one participant does: what it publishes and which tracks it subscribes to.
type plan struct {
	identity string
	role     string
	room     string
	// publish starts the participant's media; nil publishes nothing.
	publish func(ctx context.Context, p publisher) error
	// wants picks tracks to subscribe to; nil means the server's auto-subscribe (everything).
	wants func(publisherIdentity string, t *livekit.TrackInfo) bool
	// expectedTracks is how many tracks it should end up receiving.
	expectedTracks int
}

// scenario is the ordered list of participants; leaders join (and publish) before the ramp starts.
type scenario struct {
	leaders      []plan
	members      []plan
	measuredRole string
}

func (c *Config) scenario(room string) scenario {
	if c.Scenario == ScenarioMeeting {
		return c.meeting(room)
	}
	return c.lesson(room)
}

// lesson: one master (simulcast camera, whiteboard, mic), Classrooms receiving it, the first Stage of
// them also publishing a camera and mic everyone subscribes to, and optionally a class view from each
// non-stage classroom that only the master subscribes to.
func (c *Config) lesson(room string) scenario {
	master := plan{
		identity: "master", role: roleMaster, room: room,
		publish: func(ctx context.Context, p publisher) error {
			if err := p.simulcast(ctx, trackCamera, "master", cameraLayers); err != nil {
				return err
			}
			if err := p.video(ctx, trackWhiteboard, "master-screen", livekit.TrackSource_SCREEN_SHARE, whiteboardSpec); err != nil {
				return err
			}
			return p.audio(ctx, trackMic, "master")
		},
		wants: func(_ string, t *livekit.TrackInfo) bool {
			n := t.GetName()
			return n == trackClassView || n == trackStageCamera || n == trackStageMic
		},
		expectedTracks: 2 * c.Stage,
	}
	if c.ClassView {
		master.expectedTracks += c.Classrooms - c.Stage
	}
	classWants := func(from string, t *livekit.TrackInfo) bool {
		n := t.GetName()
		return from == "master" || n == trackStageCamera || n == trackStageMic
	}
	var members []plan
	for i := range c.Classrooms {
		id := fmt.Sprintf("class-%04d", i+1)
		p := plan{identity: id, role: roleClassroom, room: room, wants: classWants, expectedTracks: 3 + 2*c.Stage}
		switch {
		case i < c.Stage:
			p.expectedTracks -= 2 // not its own
			p.publish = func(ctx context.Context, pub publisher) error {
				if err := pub.video(ctx, trackStageCamera, id, livekit.TrackSource_CAMERA, stageSpec); err != nil {
					return err
				}
				return pub.audio(ctx, trackStageMic, id)
			}
		case c.ClassView:
			p.publish = func(ctx context.Context, pub publisher) error {
				return pub.video(ctx, trackClassView, id, livekit.TrackSource_CAMERA, classViewSpec)
			}
		}
		members = append(members, p)
	}
	return scenario{leaders: []plan{master}, members: members, measuredRole: roleClassroom}
}

// meeting: Participants all publishing a simulcast camera and a mic, all subscribed to everyone.
func (c *Config) meeting(room string) scenario {
	var members []plan
	for i := range c.Participants {
		id := fmt.Sprintf("p-%04d", i+1)
		members = append(members, plan{
			identity: id, role: roleParticipant, room: room, expectedTracks: 2 * (c.Participants - 1),
			publish: func(ctx context.Context, p publisher) error {
				if err := p.simulcast(ctx, trackCamera, id, cameraLayers); err != nil {
					return err
				}
				return p.audio(ctx, trackMic, id)
			},
		})
	}
	return scenario{members: members, measuredRole: roleParticipant}
}
