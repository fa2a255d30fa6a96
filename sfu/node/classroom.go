package node

import "github.com/classcast/classcast/classroom"

// startClassroom puts the classroom rules (roles, stage, questions,
// whiteboard, meeting controls, active speakers) on every new room, sends
// their lesson events to the room's recordings and exposes their counters
// on /metrics.
func (n *Node) startClassroom() {
	svc := classroom.New(classroom.Config{
		Logger: n.log.With("component", "classroom"),
		// Looked up when a room is created; it writes to whatever
		// recordings of the room are live at each event.
		Timeline: func(room string) classroom.Timeline { return n.RecorderTimeline(room) },
	})
	n.registry.MustRegister(svc.Collectors()...)
	n.rooms.AddHooks(svc.Hooks)
}
