package signaling_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/classcast/classcast/sfu/node"
)

func startNode(t testing.TB) *node.Node {
	t.Helper()
	cfg := node.Defaults()
	cfg.Dev = true
	cfg.Port, cfg.RTC.UDPPort, cfg.RTC.TCPPort = 0, 0, 0
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.Close(ctx)
	})
	return n
}

type tokenOpt func(*auth.AccessToken, *auth.VideoGrant)

func mint(t testing.TB, room, identity string, opts ...tokenOpt) string {
	t.Helper()
	at := auth.NewAccessToken("devkey", "secret").SetIdentity(identity).SetValidFor(time.Hour)
	g := &auth.VideoGrant{RoomJoin: true, Room: room}
	for _, o := range opts {
		o(at, g)
	}
	jwt, err := at.SetVideoGrant(g).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

// rawClient speaks the signaling protocol by hand, for exact-message tests.
type rawClient struct {
	t    testing.TB
	conn *websocket.Conn
	json bool
}

func dialRaw(t testing.TB, n *node.Node, token, query string) (*rawClient, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := n.URL() + "/rtc?access_token=" + token + "&protocol=16&sdk=go" + query
	conn, resp, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(4 << 20)
	c := &rawClient{t: t, conn: conn, json: strings.Contains(query, "format=json")}
	t.Cleanup(func() { _ = conn.CloseNow() })
	return c, resp, nil
}

func (c *rawClient) send(req *livekit.SignalRequest) {
	c.t.Helper()
	var (
		b   []byte
		err error
		typ = websocket.MessageBinary
	)
	if c.json {
		b, err = protojson.Marshal(req)
		typ = websocket.MessageText
	} else {
		b, err = proto.Marshal(req)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendBytes(typ, b)
}

func (c *rawClient) sendBytes(typ websocket.MessageType, b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, typ, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next reads the next response within d.
func (c *rawClient) next(d time.Duration) (*livekit.SignalResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	typ, b, err := c.conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	res := &livekit.SignalResponse{}
	if typ == websocket.MessageText {
		err = protojson.Unmarshal(b, res)
	} else {
		err = proto.Unmarshal(b, res)
	}
	return res, err
}

// await reads until match returns true, failing after d.
func (c *rawClient) await(d time.Duration, what string, match func(*livekit.SignalResponse) bool) *livekit.SignalResponse {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			c.t.Fatalf("timed out waiting for %s", what)
		}
		res, err := c.next(left)
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		if match(res) {
			return res
		}
	}
}

func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
