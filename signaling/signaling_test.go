package signaling_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"go.uber.org/goleak"
)

func httpURL(wsURL string) string { return "http" + strings.TrimPrefix(wsURL, "ws") }

func TestHTTPEndpoints(t *testing.T) {
	n := startNode(t)
	base := httpURL(n.URL())
	good := mint(t, "r", "alice")
	expired := handMadeJWT(t, "devkey", "secret", time.Now().Add(-time.Hour))
	wrongSecret, _ := auth.NewAccessToken("devkey", "not-the-secret").SetIdentity("bob").SetValidFor(time.Hour).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: "r"}).ToJWT()
	unknownKey, _ := auth.NewAccessToken("otherkey", "secret").SetIdentity("bob").SetValidFor(time.Hour).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: "r"}).ToJWT()
	noJoin := mint(t, "r", "carol", func(_ *auth.AccessToken, g *auth.VideoGrant) { g.RoomJoin = false })
	cases := []struct {
		name, path string
		status     int
		body       string
	}{
		{"validate ok", "/rtc/validate?access_token=" + good, 200, "success"},
		{"validate without token", "/rtc/validate", 401, "no access token"},
		{"validate garbage token", "/rtc/validate?access_token=abc.def.ghi", 401, "invalid access token"},
		{"validate expired", "/rtc/validate?access_token=" + expired, 401, "expired"},
		{"validate wrong secret", "/rtc/validate?access_token=" + wrongSecret, 401, "signature"},
		{"validate unknown key", "/rtc/validate?access_token=" + unknownKey, 401, "unknown API key"},
		{"validate no roomJoin", "/rtc/validate?access_token=" + noJoin, 403, "roomJoin"},
		{"rtc without upgrade", "/rtc?access_token=" + good, 404, ""},
		{"v1 falls back", "/rtc/v1/validate?access_token=" + good, 404, "not supported"},
		{"healthz", "/healthz", 200, "ok"},
		{"metrics", "/metrics", 200, "classcast_forward_packets_in_total"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := httpGet(t, base+c.path)
			if status != c.status || !strings.Contains(body, c.body) {
				t.Errorf("GET %s = %d %q, want %d containing %q", c.path, status, body, c.status, c.body)
			}
		})
	}
	// A refused WebSocket gets the same status and reason.
	_, resp, err := dialRaw(t, n, noJoin, "")
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("dial without roomJoin: err %v resp %v", err, resp)
	}
}

func TestJoinResponseFirstAndPing(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	n := startNode(t)
	for _, mode := range []string{"", "&format=json"} {
		c, _, err := dialRaw(t, n, mint(t, "room1", "alice"+mode), mode)
		if err != nil {
			t.Fatal(err)
		}
		first, err := c.next(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		j := first.GetJoin()
		if j == nil {
			t.Fatalf("first message %T, want join", first.Message)
		}
		if !j.SubscriberPrimary || j.Participant.GetSid() == "" || j.Room.GetName() != "room1" ||
			j.PingInterval == 0 || j.ServerInfo.GetProtocol() == 0 {
			t.Errorf("join response %v", j)
		}
		c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{Timestamp: 42}}})
		c.await(5*time.Second, "pong", func(r *livekit.SignalResponse) bool { return r.GetPongResp().GetLastPingTimestamp() == 42 })
		c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Ping{Ping: 7}})
		c.await(5*time.Second, "legacy pong", func(r *livekit.SignalResponse) bool { return r.GetPong() != 0 })
		c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{}}})
		for {
			if _, err := c.next(5 * time.Second); err != nil {
				if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
					t.Errorf("after leave: %v", err)
				}
				break
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	n := startNode(t)
	c, _, err := dialRaw(t, n, mint(t, "room2", "mallory"), "")
	if err != nil {
		t.Fatal(err)
	}
	c.await(5*time.Second, "join", func(r *livekit.SignalResponse) bool { return r.GetJoin() != nil })
	bad := func(r *livekit.SignalResponse, reason livekit.RequestResponse_Reason, text string) bool {
		rr := r.GetRequestResponse()
		return rr != nil && rr.Reason == reason && strings.Contains(rr.Message, text)
	}
	// Garbage bytes: told, not disconnected.
	c.sendBytes(websocket.MessageBinary, []byte{0xff, 0xff, 0xff, 0x01, 0x02})
	c.await(5*time.Second, "malformed error", func(r *livekit.SignalResponse) bool {
		return bad(r, livekit.RequestResponse_INVALID_REQUEST, "malformed")
	})
	c.sendBytes(websocket.MessageText, []byte(`{"offer": 12}`))
	c.await(5*time.Second, "malformed json error", func(r *livekit.SignalResponse) bool {
		return bad(r, livekit.RequestResponse_INVALID_REQUEST, "malformed")
	})
	// Out of order: an answer with no offer outstanding is refused.
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Answer{Answer: &livekit.SessionDescription{Type: "answer", Sdp: "v=0"}}})
	c.await(5*time.Second, "answer refused", func(r *livekit.SignalResponse) bool {
		return bad(r, livekit.RequestResponse_INVALID_REQUEST, "")
	})
	// SDP without required parts.
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: "v=0\r\ns=-\r\n"}}})
	c.await(5*time.Second, "bad offer refused", func(r *livekit.SignalResponse) bool {
		return bad(r, livekit.RequestResponse_INVALID_REQUEST, "publisher offer")
	})
	// Unknown track ids.
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Mute{Mute: &livekit.MuteTrackRequest{Sid: "TR_nope", Muted: true}}})
	c.await(5*time.Second, "mute of unknown track", func(r *livekit.SignalResponse) bool {
		return bad(r, livekit.RequestResponse_NOT_FOUND, "TR_nope") && r.GetRequestResponse().GetMute() != nil
	})
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Subscription{Subscription: &livekit.UpdateSubscription{TrackSids: []string{"TR_nope"}, Subscribe: true}}})
	c.await(5*time.Second, "subscription error", func(r *livekit.SignalResponse) bool {
		s := r.GetSubscriptionResponse()
		return s != nil && s.TrackSid == "TR_nope" && s.Err == livekit.SubscriptionError_SE_TRACK_NOTFOUND
	})
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_TrackSetting{TrackSetting: &livekit.UpdateTrackSettings{TrackSids: []string{"TR_nope"}}}})
	// Trickle with a broken candidate.
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Trickle{Trickle: &livekit.TrickleRequest{CandidateInit: "{not json"}}})
	c.await(5*time.Second, "bad candidate", func(r *livekit.SignalResponse) bool {
		return bad(r, livekit.RequestResponse_INVALID_REQUEST, "candidate")
	})
	// A data-track request this server does not implement.
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_PublishDataTrackRequest{PublishDataTrackRequest: &livekit.PublishDataTrackRequest{}}})
	c.await(5*time.Second, "unsupported", func(r *livekit.SignalResponse) bool {
		return bad(r, livekit.RequestResponse_UNSUPPORTED_TYPE, "not supported")
	})
	// Still alive after all that.
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{Timestamp: 9}}})
	c.await(5*time.Second, "pong after bad input", func(r *livekit.SignalResponse) bool { return r.GetPongResp() != nil })

	// Oversized message: the connection is closed with "message too big".
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	// The server may reset the connection before the whole 2 MiB is written.
	werr := c.conn.Write(wctx, websocket.MessageBinary, make([]byte, 2<<20))
	for werr == nil {
		if _, err := c.next(5 * time.Second); err != nil {
			if st := websocket.CloseStatus(err); st != websocket.StatusMessageTooBig && st != -1 {
				t.Errorf("oversized message: %v", err)
			}
			break
		}
	}
	// Other participants are unaffected: a new one joins fine.
	c2, _, err := dialRaw(t, n, mint(t, "room2", "alice"), "")
	if err != nil {
		t.Fatal(err)
	}
	c2.await(5*time.Second, "join", func(r *livekit.SignalResponse) bool { return r.GetJoin() != nil })
}

func TestGarbageFloodDisconnects(t *testing.T) {
	n := startNode(t)
	c, _, err := dialRaw(t, n, mint(t, "room3", "flooder"), "")
	if err != nil {
		t.Fatal(err)
	}
	c.await(5*time.Second, "join", func(r *livekit.SignalResponse) bool { return r.GetJoin() != nil })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 50; i++ {
		if c.conn.Write(ctx, websocket.MessageBinary, []byte{0xff, 0xfe}) != nil {
			break
		}
	}
	for {
		if _, err := c.next(5 * time.Second); err != nil {
			break // closed, as intended
		}
	}
}

// handMadeJWT builds an HS256 token with an arbitrary expiry (the token
// builder refuses to make expired ones).
func handMadeJWT(t *testing.T, key, secret string, exp time.Time) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, err := json.Marshal(map[string]any{
		"iss": key, "sub": "bob", "nbf": exp.Add(-2 * time.Hour).Unix(), "exp": exp.Unix(),
		"video": map[string]any{"roomJoin": true, "room": "r"},
	})
	if err != nil {
		t.Fatal(err)
	}
	signing := header + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}
