package signaling

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"

	"github.com/classcast/classcast/sfu/room"
)

// Server is the /rtc endpoint family.
type Server struct {
	keys  Keys
	rooms *room.Manager
	log   *slog.Logger
}

// NewServer creates the signaling server.
func NewServer(keys Keys, rooms *room.Manager, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{keys: keys, rooms: rooms, log: log}
}

// Register mounts the endpoints on mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("/rtc", s.handleRTC)
	mux.HandleFunc("/rtc/validate", s.handleValidate)
	// The single-PC v1 path is not implemented: a 404 makes livekit-client
	// fall back to the v0 path.
	mux.HandleFunc("/rtc/v1", notFoundCORS)
	mux.HandleFunc("/rtc/v1/", notFoundCORS)
}

// notFoundCORS answers 404 in a way a browser's fetch can read (with CORS
// headers), so livekit-client sees "not found" and falls back to v0.
func notFoundCORS(w http.ResponseWriter, _ *http.Request) {
	cors(w)
	http.Error(w, "single peer connection mode (v1) is not supported; use /rtc", http.StatusNotFound)
}

func cors(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
}

// handleValidate lets clients learn why a connection failed.
func (s *Server) handleValidate(w http.ResponseWriter, r *http.Request) {
	cors(w)
	if r.Method == http.MethodOptions {
		return
	}
	grants, err := s.keys.Verify(tokenFrom(r))
	if err == nil {
		_, err = joinGrants(grants)
	}
	if err != nil {
		http.Error(w, err.Error(), httpStatus(err))
		return
	}
	_, _ = w.Write([]byte("success"))
}

func (s *Server) handleRTC(w http.ResponseWriter, r *http.Request) {
	cors(w)
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.NotFound(w, r)
		return
	}
	grants, err := s.keys.Verify(tokenFrom(r))
	var roomName string
	if err == nil {
		roomName, err = joinGrants(grants)
	}
	if err != nil {
		s.log.Info("connection refused", "remote", r.RemoteAddr, "err", err)
		http.Error(w, err.Error(), httpStatus(err))
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	q := r.URL.Query()
	log := s.log.With("room", roomName, "participant", grants.Identity)
	sess := newSession(conn, q.Get("format") == "json", log)
	cause := s.serve(sess, grants, roomName, q)
	log.Debug("signaling closed", "cause", cause)
	sess.wait(cause)
	if sess.part != nil {
		sess.part.SignalLost(sess, s.rooms.Config().ResumeGrace)
	}
}

// serve admits or resumes the participant, then dispatches its requests
// until the connection ends; it returns why.
func (s *Server) serve(sess *session, g *auth.ClaimGrants, roomName string, q map[string][]string) error {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	rm, err := s.rooms.GetOrCreate(roomName)
	if err != nil {
		sess.Send(leave(livekit.DisconnectReason_SERVER_SHUTDOWN, livekit.LeaveRequest_DISCONNECT))
		sess.Close()
		return err
	}
	sess.room = rm
	if get("reconnect") == "1" && get("sid") != "" {
		p, err := rm.Resume(g.Identity, get("sid"), sess)
		if err != nil {
			// Unknown to us: the client must join afresh.
			sess.Send(leave(livekit.DisconnectReason_STATE_MISMATCH, livekit.LeaveRequest_RECONNECT))
			sess.Close()
			return err
		}
		sess.part = p
	} else {
		p, err := rm.Join(room.JoinParams{
			Identity: g.Identity, Name: g.Name, Metadata: g.Metadata, Attributes: g.Attributes,
			Grants: g.Video, Kind: g.GetParticipantKind(),
			AutoSubscribe: get("auto_subscribe") != "0" && get("auto_subscribe") != "false",
			ClientInfo:    clientInfo(get), Sink: sess,
		})
		if err != nil {
			sess.Send(requestError(livekit.RequestResponse_LIMIT_EXCEEDED, err.Error()))
			sess.Send(leave(livekit.DisconnectReason_JOIN_FAILURE, livekit.LeaveRequest_DISCONNECT))
			sess.Close()
			return err
		}
		sess.part = p
	}
	for {
		req, err := sess.read()
		if err != nil {
			return err
		}
		if req == nil {
			continue
		}
		if done := s.dispatch(sess, req); done {
			return errors.New("client left")
		}
	}
}

func clientInfo(get func(string) string) *livekit.ClientInfo {
	ci := &livekit.ClientInfo{Version: get("version"), Os: get("os"), Browser: get("browser"),
		DeviceModel: get("device_model"), Network: get("network")}
	if v, ok := livekit.ClientInfo_SDK_value[strings.ToUpper(get("sdk"))]; ok {
		ci.Sdk = livekit.ClientInfo_SDK(v)
	}
	var p int32
	_, _ = fmt.Sscan(get("protocol"), &p)
	ci.Protocol = p
	return ci
}

func leave(reason livekit.DisconnectReason, action livekit.LeaveRequest_Action) *livekit.SignalResponse {
	return &livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{Leave: &livekit.LeaveRequest{
		Reason: reason, Action: action, CanReconnect: action != livekit.LeaveRequest_DISCONNECT,
	}}}
}

// dispatch handles one request; it reports whether the session should end.
func (s *Server) dispatch(sess *session, req *livekit.SignalRequest) bool {
	p, rm := sess.part, sess.room
	var err error
	switch m := req.Message.(type) {
	case *livekit.SignalRequest_Offer:
		err = p.HandleOffer(m.Offer)
	case *livekit.SignalRequest_Answer:
		err = p.HandleAnswer(m.Answer)
	case *livekit.SignalRequest_Trickle:
		err = p.AddICECandidate(m.Trickle)
	case *livekit.SignalRequest_AddTrack:
		err = p.AddTrack(m.AddTrack)
	case *livekit.SignalRequest_Mute:
		if err = p.SetTrackMuted(m.Mute.Sid, m.Mute.Muted); err != nil {
			sess.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_RequestResponse{RequestResponse: &livekit.RequestResponse{
				Reason: livekit.RequestResponse_NOT_FOUND, Message: err.Error(),
				Request: &livekit.RequestResponse_Mute{Mute: m.Mute},
			}}})
		}
	case *livekit.SignalRequest_Subscription:
		err = rm.UpdateSubscription(p, m.Subscription)
	case *livekit.SignalRequest_TrackSetting:
		p.UpdateTrackSettings(m.TrackSetting)
	case *livekit.SignalRequest_Leave:
		rm.Remove(p.Identity(), p.SID(), "client left")
		sess.part = nil
		sess.Close()
		return true
	case *livekit.SignalRequest_Ping:
		sess.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Pong{Pong: time.Now().UnixMilli()}})
	case *livekit.SignalRequest_PingReq:
		sess.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_PongResp{PongResp: &livekit.Pong{
			LastPingTimestamp: m.PingReq.Timestamp, Timestamp: time.Now().UnixMilli(),
		}}})
	case *livekit.SignalRequest_UpdateMetadata:
		err = p.UpdateOwnMetadata(m.UpdateMetadata)
	case *livekit.SignalRequest_SyncState:
		p.SyncState(m.SyncState)
	case *livekit.SignalRequest_SubscriptionPermission, *livekit.SignalRequest_Simulate,
		*livekit.SignalRequest_UpdateLayers, *livekit.SignalRequest_UpdateAudioTrack,
		*livekit.SignalRequest_UpdateVideoTrack:
		// Accepted and ignored: nothing in classcast depends on them yet.
	default:
		sess.Send(requestError(livekit.RequestResponse_UNSUPPORTED_TYPE,
			fmt.Sprintf("%T is not supported by this server", req.Message)))
	}
	if err != nil {
		sess.log.Debug("request failed", "request", fmt.Sprintf("%T", req.Message), "err", err)
		var reason = livekit.RequestResponse_INVALID_REQUEST
		if errors.Is(err, room.ErrNotAllowed) {
			return false // already answered with the specific refusal
		}
		if errors.Is(err, room.ErrNotFound) {
			reason = livekit.RequestResponse_NOT_FOUND
		}
		if _, isMute := req.Message.(*livekit.SignalRequest_Mute); !isMute {
			sess.Send(requestError(reason, err.Error()))
		}
	}
	return false
}
