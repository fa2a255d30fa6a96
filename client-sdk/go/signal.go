package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// signalReadLimit bounds one signal message; a JoinResponse for a big room is far above the
// websocket library's 32 KiB default.
const signalReadLimit = 16 << 20

const signalWriteTimeout = 5 * time.Second

// signalConn is one WebSocket to /rtc carrying one SignalRequest/SignalResponse per message.
// send may be called concurrently (the websocket library serialises writers); read is for one goroutine.
type signalConn struct {
	ws   *websocket.Conn
	json bool
}

// joinParams are the query parameters of one /rtc dial.
type joinParams struct {
	token         string
	autoSubscribe bool
	protocol      int
	reconnect     bool
	sid           string
	reason        livekit.ReconnectReason
	extra         url.Values
}

// rtcURL turns the server URL (http, https, ws or wss) into the /rtc WebSocket URL with the query the
// JS SDK sends.
func rtcURL(base string, p joinParams) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("client: parse url %q: %w", base, err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/rtc"
	q := url.Values{}
	q.Set("access_token", p.token)
	q.Set("auto_subscribe", boolParam(p.autoSubscribe))
	q.Set("sdk", "go")
	q.Set("version", SDKVersion)
	q.Set("protocol", strconv.Itoa(p.protocol))
	q.Set("os", runtime.GOOS)
	if p.reconnect {
		q.Set("reconnect", "1")
		q.Set("sid", p.sid)
		q.Set("reconnect_reason", strconv.Itoa(int(p.reason)))
	}
	for k, vs := range p.extra {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func boolParam(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func dialSignal(ctx context.Context, hc *http.Client, rawURL string, useJSON bool) (*signalConn, error) {
	ws, resp, err := websocket.Dial(ctx, rawURL, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		if resp != nil {
			var body []byte
			if resp.Body != nil {
				body, _ = io.ReadAll(io.LimitReader(resp.Body, 1024))
				_ = resp.Body.Close()
			}
			return nil, &HandshakeError{StatusCode: resp.StatusCode, Body: string(body), Err: err}
		}
		return nil, fmt.Errorf("client: dial signal: %w", err)
	}
	ws.SetReadLimit(signalReadLimit)
	return &signalConn{ws: ws, json: useJSON}, nil
}

func (c *signalConn) send(ctx context.Context, req *livekit.SignalRequest) error {
	var (
		data []byte
		err  error
		typ  = websocket.MessageBinary
	)
	if c.json {
		data, err = protojson.Marshal(req)
		typ = websocket.MessageText
	} else {
		data, err = proto.Marshal(req)
	}
	if err != nil {
		return fmt.Errorf("client: encode signal request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, signalWriteTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, typ, data); err != nil {
		return fmt.Errorf("client: write signal: %w", err)
	}
	return nil
}

// read returns the next SignalResponse, decoding by frame type (binary = protobuf, text = protojson),
// so a server answering in either encoding is understood.
func (c *signalConn) read(ctx context.Context) (*livekit.SignalResponse, error) {
	typ, data, err := c.ws.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("client: read signal: %w", err)
	}
	return decodeSignalResponse(typ, data)
}

func decodeSignalResponse(typ websocket.MessageType, data []byte) (*livekit.SignalResponse, error) {
	res := &livekit.SignalResponse{}
	var err error
	if typ == websocket.MessageText {
		err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, res)
	} else {
		err = proto.Unmarshal(data, res)
	}
	if err != nil {
		return nil, fmt.Errorf("client: decode signal response: %w", err)
	}
	return res, nil
}

// closeNormal ends the connection with a close handshake; closeNow drops it without one.
func (c *signalConn) closeNormal() { _ = c.ws.Close(websocket.StatusNormalClosure, "") }
func (c *signalConn) closeNow()    { _ = c.ws.CloseNow() }
