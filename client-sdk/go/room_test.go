package client

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/classcast/classcast/client-sdk/go/internal/fakesfu"
	"github.com/classcast/classcast/client-sdk/go/media"
	"github.com/livekit/protocol/livekit"
	"go.uber.org/goleak"
)

func TestSubscribeSyntheticTrackAndData(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	st := syntheticServerTrack(t, ctx, &pumps, media.SyntheticConfig{Width: 320, Height: 180, FrameSize: 300})
	srv := newFake(t, fakesfu.Config{Tracks: []fakesfu.ServerTrack{st}})
	defer srv.Close()

	subscribed := make(chan *RemoteTrack, 1)
	data := make(chan DataMessage, 1)
	connected := make(chan *RemoteParticipant, 4)
	room, err := Connect(ctx, srv.URL, "alice", WithAPI(loopbackAPI(t, true)), WithAutoDrain(),
		WithLogger(testLogger()), WithCallbacks(Callbacks{
			OnTrackSubscribed:      func(rt *RemoteTrack) { subscribed <- rt },
			OnData:                 func(m DataMessage) { data <- m },
			OnParticipantConnected: func(p *RemoteParticipant) { connected <- p },
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()

	q := srv.Queries()[0]
	for k, want := range map[string]string{"access_token": "alice", "auto_subscribe": "1", "sdk": "go", "protocol": "16"} {
		if got := q.Get(k); got != want {
			t.Errorf("query %s = %q, want %q", k, got, want)
		}
	}
	if p := recv(t, connected, "participant connected"); p.Identity() != "pub" {
		t.Errorf("participant identity %q", p.Identity())
	}
	rt := recv(t, subscribed, "track subscribed")
	if rt.SID != "TR_synth" || rt.ParticipantSID != "PA_pub" || rt.ParticipantIdentity != "pub" {
		t.Errorf("remote track ids: sid %q participant %q identity %q", rt.SID, rt.ParticipantSID, rt.ParticipantIdentity)
	}
	waitFor(t, 10*time.Second, "keyframe with size", func() bool {
		s := rt.Stats()
		return s.Keyframes > 0 && s.Width == 320 && s.SyntheticFrames > 10
	})
	if s := rt.Stats(); s.Frames == 0 || s.Bytes == 0 || s.Height != 180 || s.SyntheticLost != 0 {
		t.Errorf("stats %+v", s)
	}
	if err := rt.RequestKeyframe(); err != nil {
		t.Errorf("pli: %v", err)
	}

	// Server → client data arrives on the subscriber connection's server-created channel.
	sess := srv.Session("alice")
	waitFor(t, 10*time.Second, "subscriber data channel", func() bool {
		return sess.SendDataToClient("_reliable", &livekit.DataPacket{
			ParticipantIdentity: "pub",
			Value:               &livekit.DataPacket_User{User: &livekit.UserPacket{Payload: []byte("hi")}},
		}) == nil
	})
	if m := recv(t, data, "data"); m.SenderIdentity != "pub" || string(m.Payload) != "hi" {
		t.Errorf("data %+v", m)
	}
	if err := room.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "leave request", func() bool {
		for _, r := range sess.Requests() {
			if l := r.GetLeave(); l != nil && l.GetAction() == livekit.LeaveRequest_DISCONNECT {
				return true
			}
		}
		return false
	})
	cancel()
	pumps.Wait()
	srv.Close()
}

func TestFirstMessageMustBeJoin(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFake(t, fakesfu.Config{FirstMessage: &livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{
		Leave: &livekit.LeaveRequest{Reason: livekit.DisconnectReason_JOIN_FAILURE},
	}}})
	defer srv.Close()
	_, err := Connect(context.Background(), srv.URL, "bob", WithAPI(loopbackAPI(t, true)))
	var leave *LeaveError
	if !errors.Is(err, ErrNoJoinResponse) || !errors.As(err, &leave) || leave.Reason != livekit.DisconnectReason_JOIN_FAILURE {
		t.Fatalf("err = %v, want ErrNoJoinResponse with LeaveError", err)
	}
}

func TestDataBetweenClientsJSON(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFake(t, fakesfu.Config{})
	defer srv.Close()
	ctx := context.Background()
	api := loopbackAPI(t, false)
	got := make(chan DataMessage, 4)
	b, err := Connect(ctx, srv.URL, "b", WithAPI(api), WithJSON(), WithCallbacks(Callbacks{
		OnData: func(m DataMessage) { got <- m },
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a, err := Connect(ctx, srv.URL, "a", WithAPI(api), WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// b's subscriber data channel must be open before a's packet is forwarded.
	waitFor(t, 10*time.Second, "b's subscriber data channel", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.subDC.reliable != nil && b.subDC.reliable.ReadyState() == 2 // open
	})
	sendCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		if err := a.SendData(sendCtx, []byte{byte(i)}, Reliable, []string{"b"}, "chat"); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.SendData(sendCtx, []byte("lossy"), Lossy, nil, ""); err != nil {
		t.Fatal(err)
	}
	// Reliable and lossy use different SCTP streams, so only the reliable ones are ordered.
	var reliable []DataMessage
	for i := 0; i < 4; i++ {
		m := recv(t, got, "data")
		if m.Kind == Lossy {
			if string(m.Payload) != "lossy" || m.Packet.GetSequence() != 0 || m.SenderIdentity != "a" {
				t.Errorf("lossy %+v", m)
			}
			continue
		}
		reliable = append(reliable, m)
	}
	for i, m := range reliable {
		if m.SenderIdentity != "a" || m.Topic != "chat" || m.Payload[0] != byte(i) || m.Packet.GetSequence() != uint32(i+1) {
			t.Errorf("message %d: %+v seq %d", i, m, m.Packet.GetSequence())
		}
	}
	if len(reliable) != 3 {
		t.Errorf("%d reliable messages", len(reliable))
	}
	if !srv.Session("b").JSONMode() {
		t.Error("b's session did not see text frames")
	}
}
