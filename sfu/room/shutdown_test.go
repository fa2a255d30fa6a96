package room

import (
	"sync"
	"testing"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"

	"github.com/classcast/classcast/sfu/rtc"
)

// leaveSink keeps the leave requests a participant is sent.
type leaveSink struct {
	mu     sync.Mutex
	leaves []*livekit.LeaveRequest
}

func (s *leaveSink) Send(m *livekit.SignalResponse) {
	if l := m.GetLeave(); l != nil {
		s.mu.Lock()
		s.leaves = append(s.leaves, l)
		s.mu.Unlock()
	}
}
func (s *leaveSink) Close() {}

// TestShutdownLeaveAction: a server shutting down tells its clients to give
// up when it is alone, and to reconnect (to the cluster entry, which picks a
// live node) when it is one of a cluster; a room closed for any other reason
// always says DISCONNECT.
func TestShutdownLeaveAction(t *testing.T) {
	cases := []struct {
		name      string
		cluster   bool
		shutdown  bool
		want      livekit.LeaveRequest_Action
		reconnect bool
	}{
		{"single server shutdown", false, true, livekit.LeaveRequest_DISCONNECT, false},
		{"cluster node shutdown", true, true, livekit.LeaveRequest_RECONNECT, true},
		{"cluster room deleted", true, false, livekit.LeaveRequest_DISCONNECT, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := rtc.NewEngine(rtc.Config{UDPPort: 0, TCPPort: -1, AllowLoopback: true})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			m := NewManager(Config{Engine: e, ReconnectOnShutdown: tc.cluster})
			r, err := m.GetOrCreate("lesson")
			if err != nil {
				t.Fatal(err)
			}
			sink := &leaveSink{}
			if _, err := r.Join(JoinParams{Identity: "class-a", Grants: &auth.VideoGrant{RoomJoin: true, Room: "lesson"}, Sink: sink}); err != nil {
				t.Fatal(err)
			}
			if tc.shutdown {
				m.Close("server shutting down")
			} else {
				r.Close("deleted by the API")
				m.Close("test done")
			}
			sink.mu.Lock()
			defer sink.mu.Unlock()
			if len(sink.leaves) != 1 {
				t.Fatalf("%d leave requests, want 1", len(sink.leaves))
			}
			if l := sink.leaves[0]; l.Action != tc.want || l.CanReconnect != tc.reconnect {
				t.Errorf("leave %v, want action %v can_reconnect %v", l, tc.want, tc.reconnect)
			}
		})
	}
}
