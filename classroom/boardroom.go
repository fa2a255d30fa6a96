package classroom

import (
	"encoding/json"
)

// onBoard handles one classcast.wb payload: validate, check the role,
// apply, broadcast with seq, record.
func (ru *rules) onBoard(m *member, payload []byte) {
	now := ru.cfg.Now()
	lim := ru.limitsOf(m.identity, now)
	if !lim.board.take(now) {
		ru.m.dropped.WithLabelValues(TopicWhiteboard, dropRateLimited).Inc()
		if lim.board.shouldTell(now) {
			ru.respond(m, "", refuse(codeRateLimited, "too many whiteboard ops; excess dropped"))
		}
		return
	}
	var idOnly struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(payload, &idOnly)
	op, ref := ParseBoardOp(payload)
	if ref != nil {
		ru.m.dropped.WithLabelValues(TopicWhiteboard, dropMalformed).Inc()
		ru.m.boardOps.WithLabelValues("invalid", ref.code).Inc()
		ru.respond(m, idOnly.ID, ref)
		return
	}
	if op.Op == OpSync {
		ru.m.boardOps.WithLabelValues(op.Op, "ok").Inc()
		ru.sendSnapshot(m)
		return
	}
	ru.refreshMode()
	if role := ru.role(m); ru.mode == ModeLesson && !role.isStaff() {
		ru.m.boardOps.WithLabelValues(op.Op, codeNotAllowed).Inc()
		ru.respond(m, idOnly.ID, notAllowed(role, "draw on the lesson whiteboard"))
		return
	}
	out, ref := ru.board.Apply(op, m.identity)
	if ref != nil {
		ru.m.boardOps.WithLabelValues(op.Op, ref.code).Inc()
		ru.respond(m, idOnly.ID, ref)
		return
	}
	ru.m.boardOps.WithLabelValues(op.Op, "ok").Inc()
	b, err := json.Marshal(out)
	if err != nil {
		return
	}
	ru.send(TopicWhiteboard, b)
	ru.tl.AddEvent("whiteboard", now, json.RawMessage(b))
}
