package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/sfu/room"
)

// TestMuteAndUnpublish: a publisher's mute reaches the others as a
// participant update, and an unpublished track disappears from subscribers.
func TestMuteAndUnpublish(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	teacher := connect(t, ctx, n, "mute", "teacher", nil)
	_, audio := publishLesson(t, ctx, &pumps, teacher)

	var muted, unmuted, unpublished atomic.Int32
	cb := client.Callbacks{
		OnTrackMuted: func(_ *client.RemoteParticipant, ti *livekit.TrackInfo, m bool) {
			if ti.Sid == audio.SID() {
				if m {
					muted.Add(1)
				} else {
					unmuted.Add(1)
				}
			}
		},
		OnTrackUnpublished: func(_ *client.RemoteParticipant, ti *livekit.TrackInfo) {
			if ti.Sid == audio.SID() {
				unpublished.Add(1)
			}
		},
	}
	class := connect(t, ctx, n, "mute", "class", nil, client.WithAutoDrain(), client.WithCallbacks(cb))
	waitFor(t, 10*time.Second, "audio subscribed", func() bool { return audioTrack(class) != nil })
	if err := audio.SetMuted(true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "mute seen", func() bool { return muted.Load() > 0 })
	if err := audio.SetMuted(false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "unmute seen", func() bool { return unmuted.Load() > 0 })
	if err := audio.Unpublish(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "unpublish seen", func() bool { return unpublished.Load() > 0 })
	rm, _ := n.Rooms().Get("mute")
	p, _ := rm.Participant("class")
	waitFor(t, 5*time.Second, "down track removed", func() bool {
		_, ok := p.DownTrack(audio.SID())
		return !ok
	})
}

// TestAdminBandwidthVisible: per-subscriber estimate, layers and pauses are
// on /metrics and in the admin API.
func TestAdminBandwidthVisible(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	teacher := connect(t, ctx, n, "adm", "teacher", nil)
	publishLesson(t, ctx, &pumps, teacher)
	class := connect(t, ctx, n, "adm", "class", nil, client.WithAutoDrain())
	waitFor(t, 10*time.Second, "video", func() bool { v := videoTrack(class); return v != nil && v.Stats().Frames > 5 })
	base := "http://" + n.Addr().String()
	waitFor(t, 5*time.Second, "subscriber metrics", func() bool {
		_, body := httpGetBody(t, base+"/metrics", "")
		return strings.Contains(body, `classcast_subscriber_estimate_bps{participant="class",room="adm"}`) &&
			strings.Contains(body, "classcast_subscriber_track_layer")
	})
	status, _ := httpGetBody(t, base+"/api/admin/rooms", token(t, "adm", "x", nil))
	if status != 403 {
		t.Errorf("join token on admin API: %d, want 403", status)
	}
	jwt, _ := auth.NewAccessToken("devkey", "secret").SetIdentity("admin").SetValidFor(time.Hour).
		SetVideoGrant(&auth.VideoGrant{RoomAdmin: true}).ToJWT()
	status, body := httpGetBody(t, base+"/api/admin/rooms", jwt)
	if status != 200 || !strings.Contains(body, `"estimate_bps"`) || !strings.Contains(body, `"pause_reasons"`) {
		t.Errorf("admin API: %d %s", status, body)
	}
	// The publisher's layers: three received video layers, asked for by
	// dynacast, with their rates.
	var rooms []AdminRoom
	if err := json.Unmarshal([]byte(body), &rooms); err != nil {
		t.Fatal(err)
	}
	var video *room.PublishedTrack
	for _, r := range rooms {
		for _, p := range r.Participants {
			for i, pt := range p.Published {
				if p.Info.Identity == "teacher" && pt.Kind == "video" {
					video = &p.Published[i]
				}
			}
		}
	}
	if video == nil || len(video.Layers) != 3 {
		t.Fatalf("teacher's video layers in the admin API: %+v", video)
	}
	for _, l := range video.Layers {
		if !l.Active || l.BitrateBps == 0 || !l.Requested {
			t.Errorf("layer %+v: want active, measured and requested", l)
		}
	}
}

func httpGetBody(t *testing.T, url, bearer string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDevTokenRoles: the dev token endpoint mints classroom-role and admin
// tokens for the web app.
func TestDevTokenRoles(t *testing.T) {
	n := startNode(t)
	base := "http://" + n.Addr().String()
	status, body := httpGetBody(t, base+"/api/dev-token?room=l1&identity=m&role=master_teacher", "")
	if status != 200 || !strings.Contains(body, `"token"`) {
		t.Fatalf("role token: %d %s", status, body)
	}
	if status, _ := httpGetBody(t, base+"/api/dev-token?room=l1&identity=x&role=wizard", ""); status != 400 {
		t.Errorf("unknown role: %d, want 400", status)
	}
	if status, _ := httpGetBody(t, base+"/api/dev-token?identity=ops&admin=1", ""); status != 200 {
		t.Errorf("admin token: %d", status)
	}
}
