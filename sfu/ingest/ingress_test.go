package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"
	"go.uber.org/goleak"

	client "github.com/classcast/classcast/client-sdk/go"
)

func ingressClient(t *testing.T, base, tok string) (livekit.Ingress, context.Context) {
	t.Helper()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+tok)
	ctx, err := twirp.WithHTTPRequestHeaders(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	return livekit.NewIngressProtobufClient(base, http.DefaultClient), ctx
}

func twirpCode(err error) twirp.ErrorCode {
	var te twirp.Error
	if errors.As(err, &te) {
		return te.Code()
	}
	return ""
}

// TestIngressTwirp: the LiveKit Ingress service round trip with an
// ingressAdmin token: a URL ingress (rtsp://, pulled; its error state
// shows), a WHIP ingress whose stream key publishes as its participant,
// list/update/delete; RTMP and http URLs are unimplemented; tokens without
// ingressAdmin are refused.
func TestIngressTwirp(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	n := startNode(t, nil)
	base := httpURL(n)
	svc, ctx := ingressClient(t, base, token(t, "", "admin", &auth.VideoGrant{IngressAdmin: true}))

	dead := freeTCPPort(t)
	urlIn, err := svc.CreateIngress(ctx, &livekit.CreateIngressRequest{InputType: livekit.IngressInput_URL_INPUT,
		Name: "door cam", RoomName: "lesson", ParticipantIdentity: "door", Url: fmt.Sprintf("rtsp://u:pw@127.0.0.1:%d/cam", dead)})
	if err != nil {
		t.Fatal(err)
	}
	whipIn, err := svc.CreateIngress(ctx, &livekit.CreateIngressRequest{InputType: livekit.IngressInput_WHIP_INPUT,
		Name: "obs", RoomName: "lesson", ParticipantIdentity: "obs-studio", ParticipantName: "OBS"})
	if err != nil {
		t.Fatal(err)
	}
	if whipIn.StreamKey == "" || whipIn.Url != base+"/whip/lesson" {
		t.Fatalf("WHIP ingress: url %q key %q", whipIn.Url, whipIn.StreamKey)
	}
	for _, req := range []*livekit.CreateIngressRequest{
		{InputType: livekit.IngressInput_RTMP_INPUT, RoomName: "lesson"},
		{InputType: livekit.IngressInput_URL_INPUT, RoomName: "lesson", Url: "https://example.com/a.m3u8"},
	} {
		if _, err := svc.CreateIngress(ctx, req); twirpCode(err) != twirp.Unimplemented {
			t.Fatalf("%v: %v", req.InputType, err)
		}
	}
	if _, err := svc.CreateIngress(ctx, &livekit.CreateIngressRequest{InputType: livekit.IngressInput_WHIP_INPUT, RoomName: "a b"}); twirpCode(err) != twirp.InvalidArgument {
		t.Fatalf("bad room: %v", err)
	}

	waitFor(t, 10*time.Second, "URL ingress error state", func() bool {
		l, err := svc.ListIngress(ctx, &livekit.ListIngressRequest{IngressId: urlIn.IngressId})
		return err == nil && len(l.Items) == 1 && l.Items[0].State.Status == livekit.IngressState_ENDPOINT_ERROR && l.Items[0].State.Error != ""
	})
	list, err := svc.ListIngress(ctx, &livekit.ListIngressRequest{RoomName: "lesson"})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("list: %v %v", list, err)
	}
	for _, it := range list.Items {
		if strings.Contains(it.Url, "pw@") {
			t.Fatalf("password in listed URL %q", it.Url)
		}
	}

	// the WHIP ingress's stream key publishes as its participant
	sub := connect(t, context.Background(), n, "lesson", "viewer", grant(false, true), client.WithAutoDrain())
	pctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	_, _ = whipPublisher(t, pctx, &pumps, base, "lesson", whipIn.StreamKey)
	waitFor(t, 15*time.Second, "WHIP ingress participant", func() bool {
		v := trackOf(sub, "obs-studio", "video")
		return v != nil && v.Stats().Keyframes > 0
	})
	if p := sub.Participant("obs-studio"); p.Info.Name != "OBS" {
		t.Fatalf("participant name %q", p.Info.Name)
	}
	waitFor(t, 5*time.Second, "WHIP ingress publishing", func() bool {
		l, _ := svc.ListIngress(ctx, &livekit.ListIngressRequest{IngressId: whipIn.IngressId})
		return l != nil && len(l.Items) == 1 && l.Items[0].State.Status == livekit.IngressState_ENDPOINT_PUBLISHING
	})

	upd, err := svc.UpdateIngress(ctx, &livekit.UpdateIngressRequest{IngressId: urlIn.IngressId, ParticipantName: "Door"})
	if err != nil || upd.ParticipantName != "Door" {
		t.Fatalf("update: %v %v", upd, err)
	}
	for _, id := range []string{urlIn.IngressId, whipIn.IngressId} {
		if _, err := svc.DeleteIngress(ctx, &livekit.DeleteIngressRequest{IngressId: id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.DeleteIngress(ctx, &livekit.DeleteIngressRequest{IngressId: urlIn.IngressId}); twirpCode(err) != twirp.NotFound {
		t.Fatalf("second delete: %v", err)
	}
	if l, err := svc.ListIngress(ctx, &livekit.ListIngressRequest{}); err != nil || len(l.Items) != 0 {
		t.Fatalf("list after delete: %v %v", l, err)
	}
	// the deleted stream key no longer publishes
	if res, _ := httpDo(t, http.MethodPost, base+"/whip/lesson", whipIn.StreamKey, "application/sdp", recvOffer(t)); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("deleted stream key: %d", res.StatusCode)
	}

	for name, tok := range map[string]string{
		"roomAdmin":  token(t, "lesson", "x", &auth.VideoGrant{RoomAdmin: true, Room: "lesson"}),
		"no token":   "",
		"bad secret": "eyJhbGciOiJIUzI1NiJ9.e30.x",
	} {
		c, cctx := ingressClient(t, base, tok)
		_, err := c.ListIngress(cctx, &livekit.ListIngressRequest{})
		if code := twirpCode(err); code != twirp.PermissionDenied && code != twirp.Unauthenticated {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// TestCamerasAPI: POST/GET/DELETE /api/cameras with admin tokens, room
// scoping of roomAdmin tokens, and the refusals.
func TestCamerasAPI(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	n := startNode(t, nil)
	api := httpURL(n) + "/api/cameras"
	admin := token(t, "", "admin", &auth.VideoGrant{IngressAdmin: true})
	lessonAdmin := token(t, "lesson", "teacher", &auth.VideoGrant{RoomAdmin: true, Room: "lesson"})
	cam := fmt.Sprintf(`{"room":"lesson","identity":"cam1","url":"rtsp://127.0.0.1:%d/x","max_backoff":1000000000}`, freeTCPPort(t))

	cases := []struct {
		name, method, url, tok, body string
		want                         int
	}{
		{"no token", http.MethodGet, api, "", "", 401},
		{"no admin grant", http.MethodGet, api, token(t, "lesson", "s", grant(false, true)), "", 403},
		{"add", http.MethodPost, api, lessonAdmin, cam, 201},
		{"add again", http.MethodPost, api, admin, cam, 409},
		{"bad JSON", http.MethodPost, api, admin, `{"room":`, 400},
		{"unknown field", http.MethodPost, api, admin, `{"room":"a","bogus":1}`, 400},
		{"bad URL", http.MethodPost, api, admin, `{"room":"a","identity":"b","url":"http://x"}`, 400},
		{"other room by roomAdmin", http.MethodPost, api, lessonAdmin, `{"room":"other","identity":"b","url":"rtsp://127.0.0.1:1/x"}`, 403},
		{"get", http.MethodGet, api + "/lesson/cam1", lessonAdmin, "", 200},
		{"get unknown", http.MethodGet, api + "/lesson/nope", admin, "", 404},
		{"bad method", http.MethodPut, api, admin, "", 405},
		{"delete", http.MethodDelete, api + "/lesson/cam1", admin, "", 204},
		{"delete again", http.MethodDelete, api + "/lesson/cam1", admin, "", 404},
	}
	for _, tc := range cases {
		ct := ""
		if tc.body != "" {
			ct = "application/json"
		}
		res, body := httpDo(t, tc.method, tc.url, tc.tok, ct, tc.body)
		if res.StatusCode != tc.want {
			t.Fatalf("%s: %d %s, want %d", tc.name, res.StatusCode, body, tc.want)
		}
	}
	if st := cameras(t, n, admin); len(st) != 0 {
		t.Fatalf("cameras left: %+v", st)
	}
}
