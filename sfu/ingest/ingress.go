package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/proto"

	"github.com/classcast/classcast/sfu/rtsp"
)

// IngressService implements LiveKit's Ingress Twirp service, so `lk ingress
// create|list|update|delete` and LiveKit's server SDKs manage classcast's
// ingest:
//
//   - URL_INPUT with an rtsp:// or rtsps:// URL becomes a pull source (the
//     same sources as /api/cameras; cameras from the config file are listed too);
//   - WHIP_INPUT returns the WHIP URL and a stream key to use as its bearer token;
//   - RTMP_INPUT and http(s) URLs are refused as unimplemented, naming the
//     alternatives.
//
// Every call needs a token with the ingressAdmin grant.
type IngressService struct {
	auth *Auth
	cams *rtsp.Manager
	log  *slog.Logger

	mu      sync.Mutex
	records map[string]*livekit.IngressInfo // WHIP and URL ingresses created here, by ID
	byKey   map[string]string               // WHIP stream key → ingress ID
}

var (
	_ livekit.Ingress = (*IngressService)(nil)
	_ WHIPIngresses   = (*IngressService)(nil)
)

// NewIngressService returns the service over the pull-source manager.
func NewIngressService(auth *Auth, cams *rtsp.Manager, log *slog.Logger) *IngressService {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &IngressService{auth: auth, cams: cams, log: log.With("component", "ingress"),
		records: map[string]*livekit.IngressInfo{}, byKey: map[string]string{}}
}

type baseURLKey struct{}

// Handler returns the Twirp path prefix and the handler checking the
// ingressAdmin grant.
func (s *IngressService) Handler() (string, http.Handler) {
	srv := livekit.NewIngressServer(s)
	return srv.PathPrefix(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cors(w)
		if r.Method == http.MethodOptions {
			return
		}
		if err := s.auth.IngressAdmin(bearer(r)); err != nil {
			code := twirp.Unauthenticated
			if errors.Is(err, ErrForbidden) {
				code = twirp.PermissionDenied
			}
			_ = twirp.WriteError(w, twirp.NewError(code, err.Error()))
			return
		}
		scheme := "http"
		if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
			scheme = "https"
		}
		ctx := context.WithValue(r.Context(), baseURLKey{}, scheme+"://"+r.Host)
		srv.ServeHTTP(w, r.WithContext(ctx))
	})
}

// CreateIngress implements livekit.Ingress.
func (s *IngressService) CreateIngress(ctx context.Context, req *livekit.CreateIngressRequest) (*livekit.IngressInfo, error) {
	if !validName(req.RoomName) {
		return nil, twirp.InvalidArgumentError("room_name", "must be non-empty [A-Za-z0-9._~@-]")
	}
	id := newID("IN_")
	identity := req.ParticipantIdentity
	if identity == "" {
		identity = "ingress-" + id[3:11]
	}
	if !validName(identity) {
		return nil, twirp.InvalidArgumentError("participant_identity", "must be [A-Za-z0-9._~@-]")
	}
	info := &livekit.IngressInfo{
		IngressId: id, Name: req.Name, InputType: req.InputType, RoomName: req.RoomName,
		ParticipantIdentity: identity, ParticipantName: req.ParticipantName,
		ParticipantMetadata: req.ParticipantMetadata, Reusable: true, BypassTranscoding: true,
		Enabled: req.Enabled,
		State:   &livekit.IngressState{Status: livekit.IngressState_ENDPOINT_INACTIVE, UpdatedAt: time.Now().UnixNano()},
	}
	switch req.InputType {
	case livekit.IngressInput_URL_INPUT:
		if u := strings.ToLower(req.Url); !strings.HasPrefix(u, "rtsp://") && !strings.HasPrefix(u, "rtsps://") {
			return nil, twirp.NewError(twirp.Unimplemented,
				"only rtsp:// and rtsps:// URLs are pulled (no HTTP files or HLS, which would need transcoding)")
		}
		info.Url = req.Url
		if _, err := s.cams.Add(s.sourceConfig(info)); err != nil {
			return nil, twirpErr(err)
		}
	case livekit.IngressInput_WHIP_INPUT:
		base, _ := ctx.Value(baseURLKey{}).(string)
		info.Url = base + "/whip/" + req.RoomName
		info.StreamKey = newID("SK_") + newID("")
	default:
		return nil, twirp.NewError(twirp.Unimplemented, fmt.Sprintf(
			"%s is not supported: publish over RTSP (rtsp://host:8554/<room>/<name>), WHIP, or pull an rtsp:// URL", req.InputType))
	}
	s.mu.Lock()
	s.records[id] = info
	if info.StreamKey != "" {
		s.byKey[info.StreamKey] = id
	}
	s.mu.Unlock()
	s.log.Info("ingress created", "id", id, "input", req.InputType.String(), "room", req.RoomName, "identity", identity)
	return s.snapshot(info), nil
}

func (s *IngressService) sourceConfig(info *livekit.IngressInfo) rtsp.SourceConfig {
	return rtsp.SourceConfig{ID: info.IngressId, URL: info.Url, Room: info.RoomName,
		Identity: info.ParticipantIdentity, Name: info.ParticipantName}
}

func twirpErr(err error) error {
	switch {
	case errors.Is(err, rtsp.ErrBadConfig):
		return twirp.NewError(twirp.InvalidArgument, err.Error())
	case errors.Is(err, rtsp.ErrExists):
		return twirp.NewError(twirp.AlreadyExists, err.Error())
	case errors.Is(err, rtsp.ErrNotFound):
		return twirp.NewError(twirp.NotFound, err.Error())
	case errors.Is(err, rtsp.ErrClosed):
		return twirp.NewError(twirp.Unavailable, err.Error())
	}
	return twirp.InternalErrorWith(err)
}

// snapshot copies info with the live state of its pull source.
func (s *IngressService) snapshot(info *livekit.IngressInfo) *livekit.IngressInfo {
	s.mu.Lock()
	out := proto.Clone(info).(*livekit.IngressInfo)
	s.mu.Unlock()
	if out.InputType == livekit.IngressInput_URL_INPUT {
		out.Url = redactURL(out.Url)
		if st, err := s.cams.Get(out.IngressId); err == nil {
			out.State = sourceIngressState(st)
		}
	}
	return out
}

// redactURL drops the password of a camera URL before it is shown.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid URL>"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

func sourceIngressState(st rtsp.SourceState) *livekit.IngressState {
	is := &livekit.IngressState{Error: st.LastError, UpdatedAt: time.Now().UnixNano()}
	switch st.Status {
	case rtsp.StatusConnected:
		is.Status = livekit.IngressState_ENDPOINT_PUBLISHING
		is.StartedAt = st.ConnectedSince.UnixNano()
		is.Error = ""
	case rtsp.StatusConnecting:
		is.Status = livekit.IngressState_ENDPOINT_BUFFERING
	case rtsp.StatusRetrying:
		is.Status = livekit.IngressState_ENDPOINT_ERROR
	default:
		is.Status = livekit.IngressState_ENDPOINT_COMPLETE
	}
	return is
}

// UpdateIngress implements livekit.Ingress. A pull source is restarted with
// the new room and participant.
func (s *IngressService) UpdateIngress(_ context.Context, req *livekit.UpdateIngressRequest) (*livekit.IngressInfo, error) {
	s.mu.Lock()
	info, ok := s.records[req.IngressId]
	if !ok {
		s.mu.Unlock()
		if _, err := s.cams.Get(req.IngressId); err == nil {
			return nil, twirp.NewError(twirp.FailedPrecondition, "camera "+req.IngressId+" comes from the configuration file or /api/cameras; change it there")
		}
		return nil, twirp.NotFoundError("ingress " + req.IngressId)
	}
	next := proto.Clone(info).(*livekit.IngressInfo)
	s.mu.Unlock()
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&next.Name, req.Name)
	set(&next.RoomName, req.RoomName)
	set(&next.ParticipantIdentity, req.ParticipantIdentity)
	set(&next.ParticipantName, req.ParticipantName)
	set(&next.ParticipantMetadata, req.ParticipantMetadata)
	if req.Enabled != nil {
		next.Enabled = req.Enabled
	}
	if !validName(next.RoomName) || !validName(next.ParticipantIdentity) {
		return nil, twirp.InvalidArgumentError("room_name", "room and identity must be [A-Za-z0-9._~@-]")
	}
	if next.InputType == livekit.IngressInput_URL_INPUT {
		_ = s.cams.Remove(next.IngressId)
		if _, err := s.cams.Add(s.sourceConfig(next)); err != nil {
			return nil, twirpErr(err)
		}
	}
	if next.InputType == livekit.IngressInput_WHIP_INPUT {
		next.Url = strings.TrimSuffix(next.Url, "/whip/"+info.RoomName) + "/whip/" + next.RoomName
	}
	s.mu.Lock()
	s.records[next.IngressId] = next
	s.mu.Unlock()
	s.log.Info("ingress updated", "id", next.IngressId, "room", next.RoomName, "identity", next.ParticipantIdentity)
	return s.snapshot(next), nil
}

// ListIngress implements livekit.Ingress: ingresses created here and the
// configured cameras, optionally filtered by room or ID.
func (s *IngressService) ListIngress(_ context.Context, req *livekit.ListIngressRequest) (*livekit.ListIngressResponse, error) {
	s.mu.Lock()
	infos := make([]*livekit.IngressInfo, 0, len(s.records))
	for _, info := range s.records {
		infos = append(infos, info)
	}
	s.mu.Unlock()
	out := &livekit.ListIngressResponse{}
	seen := map[string]bool{}
	for _, info := range infos {
		seen[info.IngressId] = true
		if matches(req, info.RoomName, info.IngressId) {
			out.Items = append(out.Items, s.snapshot(info))
		}
	}
	for _, st := range s.cams.List() {
		if seen[st.ID] || !matches(req, st.Room, st.ID) {
			continue
		}
		out.Items = append(out.Items, &livekit.IngressInfo{
			IngressId: st.ID, Name: st.ID, InputType: livekit.IngressInput_URL_INPUT, Url: st.URL,
			RoomName: st.Room, ParticipantIdentity: st.Identity, Reusable: true, BypassTranscoding: true,
			State: sourceIngressState(st),
		})
	}
	return out, nil
}

func matches(req *livekit.ListIngressRequest, roomName, id string) bool {
	return (req.RoomName == "" || req.RoomName == roomName) && (req.IngressId == "" || req.IngressId == id)
}

// DeleteIngress implements livekit.Ingress: a pull source stops and leaves
// the room; a WHIP stream key stops working for new sessions.
func (s *IngressService) DeleteIngress(_ context.Context, req *livekit.DeleteIngressRequest) (*livekit.IngressInfo, error) {
	s.mu.Lock()
	info, ok := s.records[req.IngressId]
	delete(s.records, req.IngressId)
	if ok && info.StreamKey != "" {
		delete(s.byKey, info.StreamKey)
	}
	s.mu.Unlock()
	if !ok {
		st, err := s.cams.Get(req.IngressId)
		if err != nil {
			return nil, twirp.NotFoundError("ingress " + req.IngressId)
		}
		info = &livekit.IngressInfo{IngressId: st.ID, InputType: livekit.IngressInput_URL_INPUT, Url: st.URL,
			RoomName: st.Room, ParticipantIdentity: st.Identity}
	}
	if info.InputType == livekit.IngressInput_URL_INPUT {
		_ = s.cams.Remove(info.IngressId)
	}
	out := proto.Clone(info).(*livekit.IngressInfo)
	out.Url = redactURL(out.Url)
	out.State = &livekit.IngressState{Status: livekit.IngressState_ENDPOINT_COMPLETE, EndedAt: time.Now().UnixNano()}
	s.log.Info("ingress deleted", "id", req.IngressId)
	return out, nil
}

// WHIPIngress implements WHIPIngresses.
func (s *IngressService) WHIPIngress(streamKey string) (WHIPTarget, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.records[s.byKey[streamKey]]
	if !ok || (info.Enabled != nil && !*info.Enabled) {
		return WHIPTarget{}, false
	}
	name := info.ParticipantName
	if name == "" {
		name = info.ParticipantIdentity
	}
	return WHIPTarget{IngressID: info.IngressId, Room: info.RoomName, Identity: info.ParticipantIdentity, Name: name}, true
}

// WHIPState implements WHIPIngresses.
func (s *IngressService) WHIPState(id string, active bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.records[id]
	if !ok {
		return
	}
	now := time.Now().UnixNano()
	st := &livekit.IngressState{Status: livekit.IngressState_ENDPOINT_INACTIVE, UpdatedAt: now}
	if active {
		st.Status, st.StartedAt = livekit.IngressState_ENDPOINT_PUBLISHING, now
	} else {
		st.EndedAt = now
		if err != nil {
			st.Error = err.Error()
		}
	}
	info.State = st
}
