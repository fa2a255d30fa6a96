// Package fakesfu is a small in-process stand-in for a LiveKit-protocol server, for the client's own
// tests: it speaks the /rtc WebSocket (protobuf or protojson), answers publisher offers, offers the
// subscriber connection with server-side data channels and optional tracks, forwards user data packets,
// and records every request. It is not an SFU: published media is only counted.
package fakesfu

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/signalling"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Config shapes the fake server. The zero value is valid.
type Config struct {
	// PingInterval and PingTimeout go into JoinResponse (seconds). They default to 0 (no pings).
	PingInterval, PingTimeout int32
	// SubscriberPrimary is sent in JoinResponse. It defaults to true.
	NotSubscriberPrimary bool
	// FirstMessage, when set, replaces the JoinResponse (to test the client's rejection).
	FirstMessage *livekit.SignalResponse
	// OnRequest sees every request of every session before the default handling; return true to
	// suppress the default handling.
	OnRequest func(s *Session, req *livekit.SignalRequest) bool
	// OnPublishedTrack is called for each track arriving on a session's publisher connection,
	// in pion's OnTrack goroutine; it may read the track.
	OnPublishedTrack func(s *Session, t *webrtc.TrackRemote)
	// Tracks are offered to every session on its subscriber connection right after join.
	Tracks []ServerTrack
}

// ServerTrack is a track the server sends down to every session.
type ServerTrack struct {
	Track          webrtc.TrackLocal // its id should be TR_…, its stream id PA_…|TR_…
	ParticipantSID string
	Identity       string
}

// Server is the fake. Close it at the end of the test.
type Server struct {
	URL string
	cfg Config
	api *webrtc.API
	ln  net.Listener
	srv *http.Server
	wg  sync.WaitGroup

	mu       sync.Mutex
	sessions map[string]*Session // by participant sid
	queries  []url.Values
	nextID   atomic.Int64
}

// Queries returns the query parameters of every /rtc request so far.
func (s *Server) Queries() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.queries...)
}

// New starts a server on 127.0.0.1:0.
func New(cfg Config) (*Server, error) {
	se := webrtc.SettingEngine{}
	LoopbackOnly(&se)
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{
		URL: "http://" + ln.Addr().String(), cfg: cfg, ln: ln, sessions: map[string]*Session{},
		api: webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/rtc", s.handleRTC)
	s.srv = &http.Server{Handler: mux}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// LoopbackOnly restricts ICE to UDP4 on 127.0.0.1.
func LoopbackOnly(se *webrtc.SettingEngine) {
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
}

// Close stops the server and every session.
func (s *Server) Close() {
	_ = s.srv.Close()
	s.mu.Lock()
	ss := make([]*Session, 0, len(s.sessions))
	for _, x := range s.sessions {
		ss = append(ss, x)
	}
	s.mu.Unlock()
	for _, x := range ss {
		x.close()
	}
	s.wg.Wait()
}

// Session returns the session of a participant identity, nil if none.
func (s *Server) Session(identity string) *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.sessions {
		if x.Identity == identity {
			return x
		}
	}
	return nil
}

// Session is one participant on the fake server. The token is taken as the identity.
type Session struct {
	srv      *Server
	Identity string
	SID      string

	wsMu sync.Mutex
	ws   *websocket.Conn
	json bool

	sub, pub   *webrtc.PeerConnection
	subDC      map[string]*webrtc.DataChannel
	closed     atomic.Bool
	Joins      atomic.Int32 // WebSocket connections (1 + resumes)
	reqMu      sync.Mutex
	requests   []*livekit.SignalRequest
	offerCount atomic.Int32
}

// Requests returns a copy of every request received so far.
func (x *Session) Requests() []*livekit.SignalRequest {
	x.reqMu.Lock()
	defer x.reqMu.Unlock()
	return append([]*livekit.SignalRequest(nil), x.requests...)
}

// Send writes a response in the session's encoding.
func (x *Session) Send(res *livekit.SignalResponse) error {
	x.wsMu.Lock()
	ws, useJSON := x.ws, x.json
	x.wsMu.Unlock()
	if ws == nil {
		return errors.New("fakesfu: no websocket")
	}
	typ := websocket.MessageBinary
	var data []byte
	var err error
	if useJSON {
		typ = websocket.MessageText
		data, err = protojson.Marshal(res)
	} else {
		data, err = proto.Marshal(res)
	}
	if err != nil {
		return err
	}
	return ws.Write(context.Background(), typ, data)
}

// DropSignal closes the session's WebSocket abruptly.
func (x *Session) DropSignal() {
	x.wsMu.Lock()
	ws := x.ws
	x.wsMu.Unlock()
	if ws != nil {
		_ = ws.CloseNow()
	}
}

// SubscriberPC and PublisherPC expose the server side of both connections.
func (x *Session) SubscriberPC() *webrtc.PeerConnection { return x.sub }
func (x *Session) PublisherPC() *webrtc.PeerConnection  { return x.pub }

// SendDataToClient sends a DataPacket on the session's subscriber data channel.
func (x *Session) SendDataToClient(label string, pkt *livekit.DataPacket) error {
	dc := x.subDC[label]
	if dc == nil {
		return errors.New("fakesfu: no data channel " + label)
	}
	data, err := proto.Marshal(pkt)
	if err != nil {
		return err
	}
	return dc.Send(data)
}

// Offer renegotiates the subscriber connection (after adding tracks to SubscriberPC).
func (x *Session) Offer(midToTrackID map[string]string) error {
	offer, err := x.sub.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := x.sub.SetLocalDescription(offer); err != nil {
		return err
	}
	id := uint32(x.offerCount.Add(1))
	return x.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Offer{
		Offer: signalling.ToProtoSessionDescription(*x.sub.LocalDescription(), id, midToTrackID),
	}})
}

func (x *Session) close() {
	if x.closed.Swap(true) {
		return
	}
	x.DropSignal()
	if x.sub != nil {
		_ = x.sub.GracefulClose()
	}
	if x.pub != nil {
		_ = x.pub.GracefulClose()
	}
}

func (s *Server) handleRTC(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.queries = append(s.queries, q)
	s.mu.Unlock()
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(16 << 20)
	if q.Get("reconnect") == "1" {
		s.mu.Lock()
		x := s.sessions[q.Get("sid")]
		s.mu.Unlock()
		if x == nil || x.closed.Load() {
			_ = ws.Close(websocket.StatusPolicyViolation, "unknown session")
			return
		}
		x.attach(ws)
		if err := x.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Reconnect{
			Reconnect: &livekit.ReconnectResponse{},
		}}); err != nil {
			return
		}
		x.readLoop(ws)
		return
	}
	x, err := s.newSession(q.Get("access_token"), ws)
	if err != nil {
		_ = ws.Close(websocket.StatusInternalError, err.Error())
		return
	}
	x.readLoop(ws)
}

func (x *Session) attach(ws *websocket.Conn) {
	x.wsMu.Lock()
	old := x.ws
	x.ws = ws
	x.wsMu.Unlock()
	if old != nil {
		_ = old.CloseNow()
	}
	x.Joins.Add(1)
}

func (s *Server) newSession(identity string, ws *websocket.Conn) (*Session, error) {
	n := s.nextID.Add(1)
	x := &Session{srv: s, Identity: identity, SID: fmt.Sprintf("PA_%d%s", n, identity), subDC: map[string]*webrtc.DataChannel{}}
	x.attach(ws)
	if s.cfg.FirstMessage != nil {
		return x, x.Send(s.cfg.FirstMessage)
	}
	var err error
	if x.sub, err = s.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return nil, err
	}
	if x.pub, err = s.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return nil, err
	}
	x.setupPCs()
	others := s.register(x)
	join := &livekit.JoinResponse{
		Room:              &livekit.Room{Sid: "RM_fake", Name: "fake"},
		Participant:       &livekit.ParticipantInfo{Sid: x.SID, Identity: identity, State: livekit.ParticipantInfo_JOINED, Version: 1},
		OtherParticipants: others,
		SubscriberPrimary: !s.cfg.NotSubscriberPrimary,
		PingInterval:      s.cfg.PingInterval,
		PingTimeout:       s.cfg.PingTimeout,
		ServerInfo:        &livekit.ServerInfo{Version: "fake", Protocol: 16},
	}
	for _, t := range s.cfg.Tracks {
		join.OtherParticipants = append(join.OtherParticipants, &livekit.ParticipantInfo{
			Sid: t.ParticipantSID, Identity: t.Identity, State: livekit.ParticipantInfo_ACTIVE, Version: 1,
			Tracks: []*livekit.TrackInfo{{Sid: t.Track.ID(), Type: trackType(t.Track.Kind())}},
		})
	}
	if err := x.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Join{Join: join}}); err != nil {
		return nil, err
	}
	mids := map[string]string{}
	for _, t := range s.cfg.Tracks {
		tr, err := x.sub.AddTransceiverFromTrack(t.Track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return nil, err
		}
		go drainRTCP(tr.Sender())
		mids[fmt.Sprint(len(mids))] = t.Track.ID()
	}
	return x, x.Offer(mids)
}

func trackType(k webrtc.RTPCodecType) livekit.TrackType {
	if k == webrtc.RTPCodecTypeAudio {
		return livekit.TrackType_AUDIO
	}
	return livekit.TrackType_VIDEO
}

func drainRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

// register adds x and tells the others; it returns the existing participants.
func (s *Server) register(x *Session) []*livekit.ParticipantInfo {
	s.mu.Lock()
	var others []*livekit.ParticipantInfo
	var peers []*Session
	for sid, o := range s.sessions {
		if o.Identity == x.Identity { // same identity joining again replaces the old session
			delete(s.sessions, sid)
			go o.close()
			continue
		}
		others = append(others, &livekit.ParticipantInfo{Sid: o.SID, Identity: o.Identity, State: livekit.ParticipantInfo_ACTIVE, Version: 1})
		peers = append(peers, o)
	}
	s.sessions[x.SID] = x
	s.mu.Unlock()
	for _, o := range peers {
		_ = o.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Update{Update: &livekit.ParticipantUpdate{
			Participants: []*livekit.ParticipantInfo{{Sid: x.SID, Identity: x.Identity, State: livekit.ParticipantInfo_ACTIVE, Version: 1}},
		}}})
	}
	return others
}

func (x *Session) setupPCs() {
	ordered, zero := false, uint16(0)
	rel, _ := x.sub.CreateDataChannel("_reliable", nil)
	lossy, _ := x.sub.CreateDataChannel("_lossy", &webrtc.DataChannelInit{Ordered: &ordered, MaxRetransmits: &zero})
	x.subDC["_reliable"], x.subDC["_lossy"] = rel, lossy
	x.sub.OnICECandidate(x.trickle(livekit.SignalTarget_SUBSCRIBER))
	x.pub.OnICECandidate(x.trickle(livekit.SignalTarget_PUBLISHER))
	x.pub.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) { x.srv.forwardData(x, dc.Label(), m.Data) })
	})
	x.pub.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if cb := x.srv.cfg.OnPublishedTrack; cb != nil {
			cb(x, t)
			return
		}
		buf := make([]byte, 1500)
		for {
			if _, _, err := t.Read(buf); err != nil {
				return
			}
		}
	})
}

func (x *Session) trickle(target livekit.SignalTarget) func(*webrtc.ICECandidate) {
	return func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		_ = x.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Trickle{
			Trickle: signalling.ToProtoTrickle(c.ToJSON(), target, false),
		}})
	}
}

// forwardData relays a user packet to its destinations (everyone else when none), stamping the sender.
func (s *Server) forwardData(from *Session, label string, data []byte) {
	pkt := &livekit.DataPacket{}
	if proto.Unmarshal(data, pkt) != nil {
		return
	}
	pkt.ParticipantIdentity, pkt.ParticipantSid = from.Identity, from.SID
	dest := map[string]bool{}
	for _, d := range pkt.GetDestinationIdentities() {
		dest[d] = true
	}
	s.mu.Lock()
	var targets []*Session
	for _, o := range s.sessions {
		if o != from && (len(dest) == 0 || dest[o.Identity]) {
			targets = append(targets, o)
		}
	}
	s.mu.Unlock()
	for _, o := range targets {
		_ = o.SendDataToClient(label, pkt)
	}
}

func (x *Session) readLoop(ws *websocket.Conn) {
	for {
		typ, data, err := ws.Read(context.Background())
		if err != nil {
			return
		}
		req := &livekit.SignalRequest{}
		if typ == websocket.MessageText {
			x.wsMu.Lock()
			x.json = true
			x.wsMu.Unlock()
			err = protojson.Unmarshal(data, req)
		} else {
			err = proto.Unmarshal(data, req)
		}
		if err != nil {
			continue
		}
		x.reqMu.Lock()
		x.requests = append(x.requests, req)
		x.reqMu.Unlock()
		if cb := x.srv.cfg.OnRequest; cb != nil && cb(x, req) {
			continue
		}
		x.handle(req)
	}
}

func (x *Session) handle(req *livekit.SignalRequest) {
	switch m := req.GetMessage().(type) {
	case *livekit.SignalRequest_Offer:
		sd, id, _ := signalling.FromProtoSessionDescription(m.Offer)
		if err := x.pub.SetRemoteDescription(sd); err != nil {
			return
		}
		ans, err := x.pub.CreateAnswer(nil)
		if err != nil || x.pub.SetLocalDescription(ans) != nil {
			return
		}
		_ = x.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Answer{
			Answer: signalling.ToProtoSessionDescription(*x.pub.LocalDescription(), id, nil),
		}})
	case *livekit.SignalRequest_Answer:
		sd, _, _ := signalling.FromProtoSessionDescription(m.Answer)
		_ = x.sub.SetRemoteDescription(sd)
	case *livekit.SignalRequest_Trickle:
		c, err := signalling.FromProtoTrickle(m.Trickle)
		if err != nil {
			return
		}
		pc := x.pub
		if m.Trickle.GetTarget() == livekit.SignalTarget_SUBSCRIBER {
			pc = x.sub
		}
		_ = pc.AddICECandidate(c)
	case *livekit.SignalRequest_AddTrack:
		a := m.AddTrack
		_ = x.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackPublished{
			TrackPublished: &livekit.TrackPublishedResponse{Cid: a.GetCid(), Track: &livekit.TrackInfo{
				Sid: "TR_" + strings.TrimPrefix(a.GetCid(), "TR_"), Type: a.GetType(), Name: a.GetName(),
				Width: a.GetWidth(), Height: a.GetHeight(), Source: a.GetSource(), Layers: a.GetLayers(),
				Simulcast: len(a.GetLayers()) > 1, Muted: a.GetMuted(),
			}},
		}})
	case *livekit.SignalRequest_Ping:
		_ = x.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Pong{Pong: m.Ping}})
	case *livekit.SignalRequest_PingReq:
		_ = x.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_PongResp{
			PongResp: &livekit.Pong{LastPingTimestamp: m.PingReq.GetTimestamp()},
		}})
	case *livekit.SignalRequest_Leave:
		x.srv.mu.Lock()
		delete(x.srv.sessions, x.SID)
		x.srv.mu.Unlock()
		go x.close()
	}
}

// JSONMode reports whether the session's client spoke protojson.
func (x *Session) JSONMode() bool {
	x.wsMu.Lock()
	defer x.wsMu.Unlock()
	return x.json
}
