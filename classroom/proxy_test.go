package classroom_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// audioLevelExtID is the id the proxy offers the RFC 6464 extension on.
// pion numbers its own extensions from 1 upwards, far below this.
const audioLevelExtID = 14

// levelProxy sits between Go SDK clients and the node and adds the RFC 6464
// audio level extension to the audio sections of publisher offers: the Go
// SDK (like pion's defaults) does not offer it, while browsers do. The
// clients then write the extension into their raw RTP themselves.
type levelProxy struct {
	target string
	ln     net.Listener
	srv    *http.Server
	wg     sync.WaitGroup
}

func startLevelProxy(t testing.TB, target string) *levelProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &levelProxy{target: target, ln: ln}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve)}
	p.wg.Add(1)
	go func() { defer p.wg.Done(); _ = p.srv.Serve(ln) }()
	t.Cleanup(func() { _ = p.srv.Close(); p.wg.Wait() })
	return p
}

func (p *levelProxy) URL() string { return "ws://" + p.ln.Addr().String() }

func (p *levelProxy) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.NotFound(w, r)
		return
	}
	down, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	up, _, err := websocket.Dial(ctx, p.target+r.URL.RequestURI(), nil)
	if err != nil {
		_ = down.Close(websocket.StatusInternalError, "upstream")
		return
	}
	down.SetReadLimit(1 << 20)
	up.SetReadLimit(1 << 20)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		pipe(ctx, up, down, nil)
	}()
	pipe(ctx, down, up, addLevelExtension)
	cancel()
	wg.Wait()
	_ = up.CloseNow()
	_ = down.CloseNow()
}

func pipe(ctx context.Context, from, to *websocket.Conn, edit func([]byte) []byte) {
	for {
		typ, b, err := from.Read(ctx)
		if err != nil {
			return
		}
		if edit != nil && typ == websocket.MessageBinary {
			b = edit(b)
		}
		if err := to.Write(ctx, typ, b); err != nil {
			return
		}
	}
}

// addLevelExtension rewrites a publisher offer (binary SignalRequest).
func addLevelExtension(b []byte) []byte {
	var req livekit.SignalRequest
	if proto.Unmarshal(b, &req) != nil || req.GetOffer() == nil {
		return b
	}
	offer := req.GetOffer()
	lines := strings.Split(offer.Sdp, "\r\n")
	out := make([]string, 0, len(lines)+4)
	audio := false
	for _, l := range lines {
		if strings.HasPrefix(l, "m=") {
			audio = strings.HasPrefix(l, "m=audio")
		}
		if strings.HasSuffix(l, " urn:ietf:params:rtp-hdrext:ssrc-audio-level") {
			// The SDK offers the extension itself now; pin the id the test's
			// raw RTP writer uses.
			continue
		}
		if audio && strings.HasPrefix(l, "a=mid:") {
			out = append(out, "a=extmap:14 urn:ietf:params:rtp-hdrext:ssrc-audio-level")
		}
		out = append(out, l)
	}
	offer.Sdp = strings.Join(out, "\r\n")
	nb, err := proto.Marshal(&req)
	if err != nil {
		return b
	}
	return nb
}
