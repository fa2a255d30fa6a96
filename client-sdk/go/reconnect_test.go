package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/classcast/classcast/client-sdk/go/internal/fakesfu"
	"github.com/livekit/protocol/livekit"
	"go.uber.org/goleak"
)

func fastRetry(o *Options) { o.RetryDelay = 20 * time.Millisecond }

func syncStateOf(s *fakesfu.Session) *livekit.SyncState {
	for _, r := range s.Requests() {
		if ss := r.GetSyncState(); ss != nil {
			return ss
		}
	}
	return nil
}

func TestResumeAfterSimulatedDrop(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFake(t, fakesfu.Config{})
	defer srv.Close()
	reconnected := make(chan bool, 2)
	ctx := context.Background()
	room, err := Connect(ctx, srv.URL, "carol", WithAPI(loopbackAPI(t, false)), fastRetry, WithLogger(testLogger()),
		WithCallbacks(Callbacks{OnReconnected: func(full bool) { reconnected <- full }}))
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	// Open the publisher's data channels first so SyncState has them.
	sendCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := room.SendData(sendCtx, []byte("x"), Reliable, nil, ""); err != nil {
		t.Fatal(err)
	}
	if err := room.UpdateSubscription([]string{"TR_x"}, false); err != nil {
		t.Fatal(err)
	}
	sess := srv.Session("carol")
	waitFor(t, 5*time.Second, "subscriber answer", func() bool { return sess.SubscriberPC().RemoteDescription() != nil })
	// And the server's data channels on the subscriber connection, which
	// SyncState lists too (they arrive shortly after the answer).
	waitFor(t, 5*time.Second, "subscriber data channels", func() bool {
		room.mu.Lock()
		defer room.mu.Unlock()
		return len(room.subDC.infos(livekit.SignalTarget_SUBSCRIBER)) == 2
	})

	room.SimulateDrop()
	if full := recv(t, reconnected, "reconnected"); full {
		t.Fatal("full rejoin, want resume")
	}
	qs := srv.Queries()
	if last := qs[len(qs)-1]; last.Get("reconnect") != "1" || last.Get("sid") != sess.SID {
		t.Errorf("resume query %v", last)
	}
	waitFor(t, 5*time.Second, "sync state", func() bool { return syncStateOf(sess) != nil })
	ss := syncStateOf(sess)
	if ss.GetAnswer().GetType() != "answer" || ss.GetAnswer().GetSdp() == "" {
		t.Errorf("sync state answer %v", ss.GetAnswer())
	}
	if ss.GetOffer().GetType() != "offer" {
		t.Errorf("sync state offer %v", ss.GetOffer())
	}
	if s := ss.GetSubscription(); s.GetSubscribe() || len(s.GetTrackSids()) != 1 || s.GetTrackSids()[0] != "TR_x" {
		t.Errorf("sync state subscription %v", s)
	}
	if len(ss.GetDataChannels()) != 4 {
		t.Errorf("sync state data channels %v", ss.GetDataChannels())
	}
	// The session keeps working: data still flows on the same peer connection.
	if err := room.SendData(sendCtx, []byte("y"), Reliable, nil, ""); err != nil {
		t.Fatal(err)
	}
}

func TestServerLeaveActions(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFake(t, fakesfu.Config{})
	defer srv.Close()
	reconnected := make(chan bool, 4)
	disconnected := make(chan error, 1)
	room, err := Connect(context.Background(), srv.URL, "dave", WithAPI(loopbackAPI(t, true)), fastRetry,
		WithCallbacks(Callbacks{
			OnReconnected:  func(full bool) { reconnected <- full },
			OnDisconnected: func(err error) { disconnected <- err },
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	leave := func(a livekit.LeaveRequest_Action) {
		s := srv.Session("dave")
		if err := s.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{Leave: &livekit.LeaveRequest{
			Reason: livekit.DisconnectReason_SERVER_SHUTDOWN, Action: a,
		}}}); err != nil {
			t.Fatal(err)
		}
	}
	first := srv.Session("dave").SID
	leave(livekit.LeaveRequest_RESUME)
	if full := recv(t, reconnected, "resume"); full {
		t.Error("RESUME did a full rejoin")
	}
	leave(livekit.LeaveRequest_RECONNECT)
	if full := recv(t, reconnected, "rejoin"); !full {
		t.Error("RECONNECT did not rejoin")
	}
	waitFor(t, 5*time.Second, "new session", func() bool {
		s := srv.Session("dave")
		return s != nil && s.SID != first && room.LocalParticipant().GetSid() == s.SID
	})
	leave(livekit.LeaveRequest_DISCONNECT)
	err = recv(t, disconnected, "disconnect")
	var le *LeaveError
	if !errors.As(err, &le) || le.Reason != livekit.DisconnectReason_SERVER_SHUTDOWN {
		t.Fatalf("disconnect reason %v", err)
	}
	<-room.Done()
	if err := room.SendData(context.Background(), nil, Reliable, nil, ""); !errors.Is(err, ErrClosed) {
		t.Errorf("SendData after disconnect: %v", err)
	}
}

func TestPingTimeoutTriggersResume(t *testing.T) {
	defer goleak.VerifyNone(t)
	var swallow = true
	srv := newFake(t, fakesfu.Config{PingInterval: 1, PingTimeout: 2, OnRequest: func(s *fakesfu.Session, r *livekit.SignalRequest) bool {
		return swallow && s.Joins.Load() == 1 && (r.GetPing() != 0 || r.GetPingReq() != nil)
	}})
	defer srv.Close()
	reconnecting := make(chan error, 2)
	room, err := Connect(context.Background(), srv.URL, "erin", WithAPI(loopbackAPI(t, true)), fastRetry,
		WithCallbacks(Callbacks{OnReconnecting: func(err error) { reconnecting <- err }}))
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	if err := recv(t, reconnecting, "ping timeout"); !errors.Is(err, ErrPingTimeout) {
		t.Fatalf("reason %v", err)
	}
	sess := srv.Session("erin")
	var pings, pingReqs int
	for _, r := range sess.Requests() {
		if r.GetPing() != 0 {
			pings++
		}
		if r.GetPingReq() != nil {
			pingReqs++
		}
	}
	if pings == 0 || pingReqs == 0 {
		t.Errorf("pings %d ping_reqs %d", pings, pingReqs)
	}
	waitFor(t, 5*time.Second, "rtt from pong_resp", func() bool { return sess.Joins.Load() == 2 && room.RTT() >= 0 })
}

func TestParticipantUpdateVersions(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFake(t, fakesfu.Config{})
	defer srv.Close()
	type ev struct {
		kind string
		p    *RemoteParticipant
	}
	evs := make(chan ev, 16)
	room, err := Connect(context.Background(), srv.URL, "frank", WithAPI(loopbackAPI(t, true)), WithCallbacks(Callbacks{
		OnParticipantConnected:    func(p *RemoteParticipant) { evs <- ev{"connected", p} },
		OnParticipantUpdated:      func(p *RemoteParticipant) { evs <- ev{"updated", p} },
		OnParticipantDisconnected: func(p *RemoteParticipant) { evs <- ev{"disconnected", p} },
		OnTrackPublished:          func(p *RemoteParticipant, _ *livekit.TrackInfo) { evs <- ev{"published", p} },
		OnTrackMuted:              func(p *RemoteParticipant, _ *livekit.TrackInfo, m bool) { evs <- ev{"muted", p} },
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	s := srv.Session("frank")
	send := func(v uint32, meta string, state livekit.ParticipantInfo_State, tracks ...*livekit.TrackInfo) {
		_ = s.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Update{Update: &livekit.ParticipantUpdate{
			Participants: []*livekit.ParticipantInfo{{Sid: "PA_g", Identity: "grace", Version: v, Metadata: meta, State: state, Tracks: tracks}},
		}}})
	}
	send(2, "a", livekit.ParticipantInfo_ACTIVE)
	send(3, "b", livekit.ParticipantInfo_ACTIVE, &livekit.TrackInfo{Sid: "TR_1"})
	send(3, "stale-same", livekit.ParticipantInfo_ACTIVE)
	send(1, "stale-older", livekit.ParticipantInfo_ACTIVE)
	send(4, "c", livekit.ParticipantInfo_ACTIVE, &livekit.TrackInfo{Sid: "TR_1", Muted: true})
	send(5, "d", livekit.ParticipantInfo_DISCONNECTED)
	want := []string{"connected", "updated", "published", "updated", "muted", "disconnected"}
	for _, w := range want {
		e := recv(t, evs, w)
		if e.kind != w {
			t.Fatalf("event %s, want %s", e.kind, w)
		}
	}
	select {
	case e := <-evs:
		t.Fatalf("extra event %s (%s)", e.kind, e.p.Info.GetMetadata())
	case <-time.After(100 * time.Millisecond):
	}
}
