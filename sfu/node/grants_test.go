package node

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	client "github.com/classcast/classcast/client-sdk/go"
)

// responses collects request_response and subscription_response messages.
type responses struct {
	mu   sync.Mutex
	reqs []*livekit.RequestResponse
	subs []*livekit.SubscriptionResponse
	data []client.DataMessage
}

func (r *responses) callbacks() client.Callbacks {
	return client.Callbacks{
		OnRequestResponse: func(rr *livekit.RequestResponse) { r.mu.Lock(); r.reqs = append(r.reqs, rr); r.mu.Unlock() },
		OnSubscriptionResponse: func(s *livekit.SubscriptionResponse) {
			r.mu.Lock()
			r.subs = append(r.subs, s)
			r.mu.Unlock()
		},
		OnData: func(d client.DataMessage) {
			if strings.HasPrefix(d.Topic, "classcast.") {
				return // classroom state from the server, not user data
			}
			r.mu.Lock()
			r.data = append(r.data, d)
			r.mu.Unlock()
		},
	}
}

func (r *responses) refused(reason livekit.RequestResponse_Reason, text string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rr := range r.reqs {
		if rr.Reason == reason && strings.Contains(rr.Message, text) {
			return true
		}
	}
	return false
}

func (r *responses) received() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.data)
}

func publishMic(ctx context.Context, r *client.Room, source livekit.TrackSource) error {
	tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "t-"+source.String(), "s")
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err = r.PublishTrack(pctx, tr, client.PublishOptions{Source: source})
	return err
}

// TestGrantTable: every grant missing → the matching action is refused with
// a clear reason, and nothing else breaks.
func TestGrantTable(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	teacher := connect(t, ctx, n, "grants", "teacher", nil)
	publishLesson(t, ctx, &pumps, teacher)
	no := false

	t.Run("roomJoin", func(t *testing.T) {
		jwt, _ := auth.NewAccessToken("devkey", "secret").SetIdentity("x").SetValidFor(time.Hour).
			SetVideoGrant(&auth.VideoGrant{Room: "grants"}).ToJWT()
		_, err := client.Connect(ctx, n.URL(), jwt, client.WithAPI(loopbackAPI(t)))
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("join without roomJoin: %v, want a 403", err)
		}
	})
	t.Run("canPublish", func(t *testing.T) {
		var rs responses
		r := connect(t, ctx, n, "grants", "no-publish", &auth.VideoGrant{CanPublish: &no}, client.WithCallbacks(rs.callbacks()))
		if err := publishMic(ctx, r, livekit.TrackSource_MICROPHONE); err == nil {
			t.Error("publish allowed without canPublish")
		}
		waitFor(t, 3*time.Second, "NOT_ALLOWED", func() bool { return rs.refused(livekit.RequestResponse_NOT_ALLOWED, "does not allow publishing") })
	})
	t.Run("canPublishSources", func(t *testing.T) {
		var rs responses
		g := &auth.VideoGrant{}
		g.SetCanPublishSources([]livekit.TrackSource{livekit.TrackSource_MICROPHONE})
		r := connect(t, ctx, n, "grants", "mic-only", g, client.WithCallbacks(rs.callbacks()))
		if err := publishMic(ctx, r, livekit.TrackSource_CAMERA); err == nil {
			t.Error("camera published with only microphone allowed")
		}
		waitFor(t, 3*time.Second, "NOT_ALLOWED CAMERA", func() bool { return rs.refused(livekit.RequestResponse_NOT_ALLOWED, "CAMERA") })
		if err := publishMic(ctx, r, livekit.TrackSource_MICROPHONE); err != nil {
			t.Errorf("microphone refused: %v", err)
		}
	})
	t.Run("canSubscribe", func(t *testing.T) {
		var rs responses
		r := connect(t, ctx, n, "grants", "no-subscribe", &auth.VideoGrant{CanSubscribe: &no}, client.WithCallbacks(rs.callbacks()))
		time.Sleep(time.Second)
		if len(r.RemoteTracks()) != 0 {
			t.Errorf("auto-subscribed to %d tracks without canSubscribe", len(r.RemoteTracks()))
		}
		var sid string
		for _, p := range r.Participants() {
			if p.Identity() == "teacher" {
				for _, tr := range p.Info.GetTracks() {
					sid = tr.Sid
				}
			}
		}
		if sid == "" {
			t.Fatal("teacher's tracks not visible")
		}
		if err := r.UpdateSubscription([]string{sid}, true); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 3*time.Second, "subscription refused", func() bool {
			rs.mu.Lock()
			defer rs.mu.Unlock()
			return len(rs.subs) > 0 && rs.subs[0].TrackSid == sid
		})
	})
	t.Run("canPublishData", func(t *testing.T) {
		var sender, receiver responses
		s := connect(t, ctx, n, "grants", "no-data", &auth.VideoGrant{CanPublishData: &no}, client.WithCallbacks(sender.callbacks()))
		_ = connect(t, ctx, n, "grants", "listener", nil, client.WithCallbacks(receiver.callbacks()))
		for i := 0; i < 3; i++ {
			if err := s.SendData(ctx, []byte("hello"), client.Reliable, nil, ""); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, 5*time.Second, "data refusal", func() bool { return sender.refused(livekit.RequestResponse_NOT_ALLOWED, "publishing data") })
		if receiver.received() != 0 {
			t.Errorf("listener got %d packets from a sender without canPublishData", receiver.received())
		}
	})
	t.Run("hidden", func(t *testing.T) {
		watcher := connect(t, ctx, n, "grants", "watcher", nil)
		ghost := connect(t, ctx, n, "grants", "ghost", &auth.VideoGrant{Hidden: true}, client.WithAutoDrain())
		waitFor(t, 10*time.Second, "hidden participant still subscribes", func() bool { return videoTrack(ghost) != nil })
		if watcher.Participant("ghost") != nil {
			t.Error("hidden participant visible to others")
		}
		for _, p := range ghost.Participants() {
			if p.Identity() == "ghost" {
				t.Error("hidden participant listed")
			}
		}
	})
}
