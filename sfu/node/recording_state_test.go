package node

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"go.uber.org/goleak"

	client "github.com/classcast/classcast/client-sdk/go"
)

// TestRecordingStateReachesClients: while a room is recorded its clients
// are told (Room.active_recording in a RoomUpdate, livekit-client's
// room.isRecording, the web app's REC badge); when the last recording
// stops, they are told it ended.
func TestRecordingStateReachesClients(t *testing.T) {
	requireFFmpeg(t)
	t.Cleanup(func() { goleak.VerifyNone(t) })
	n := startRecordingNode(t, t.TempDir(), "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var recording atomic.Int32 // -1 unknown, 0 no, 1 yes
	recording.Store(-1)
	watcher := connect(t, ctx, n, "rec-state", "classroom", nil, client.WithCallbacks(client.Callbacks{
		OnRoomUpdate: func(r *livekit.Room) {
			if r.GetActiveRecording() {
				recording.Store(1)
			} else {
				recording.Store(0)
			}
		},
	}))
	defer watcher.Close()
	waitFor(t, 10*time.Second, "the room info at join", func() bool { return recording.Load() == 0 })

	eg := livekit.NewEgressProtobufClient("http://"+n.Addr().String(), http.DefaultClient)
	rctx := withToken(ctx, t, apiToken(t, "recorder-admin", &auth.VideoGrant{RoomRecord: true}))
	info, err := eg.StartParticipantEgress(rctx, &livekit.ParticipantEgressRequest{RoomName: "rec-state", Identity: "classroom"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "active_recording true after the egress started", func() bool { return recording.Load() == 1 })
	if _, err := eg.StopEgress(rctx, &livekit.StopEgressRequest{EgressId: info.EgressId}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "active_recording false after the egress stopped", func() bool { return recording.Load() == 0 })
}
