package signaling

import (
	"context"
	"fmt"
	"net/http"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"

	"github.com/classcast/classcast/sfu/room"
)

type grantsKey struct{}

// RoomService implements LiveKit's RoomService Twirp API on the room
// manager, so `lk room …` and LiveKit's server SDKs manage classcast rooms.
type RoomService struct {
	rooms *room.Manager
}

// NewRoomServiceHandler returns the Twirp handler with token checking; mount
// it at its PathPrefix (/twirp/livekit.RoomService/).
func NewRoomServiceHandler(keys Keys, rooms *room.Manager) (string, http.Handler) {
	srv := livekit.NewRoomServiceServer(&RoomService{rooms: rooms})
	return srv.PathPrefix(), withGrants(keys, srv)
}

// withGrants verifies the caller's token and hands its grants to the Twirp
// service in the request context; each method checks the grant it needs.
func withGrants(keys Keys, srv http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cors(w)
		if r.Method == http.MethodOptions {
			return
		}
		g, err := keys.Verify(tokenFrom(r))
		if err != nil {
			writeTwirpError(w, twirp.NewError(twirp.Unauthenticated, err.Error()))
			return
		}
		srv.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), grantsKey{}, g)))
	})
}

func writeTwirpError(w http.ResponseWriter, e twirp.Error) {
	_ = twirp.WriteError(w, e)
}

func grantsFrom(ctx context.Context) *auth.VideoGrant {
	g, _ := ctx.Value(grantsKey{}).(*auth.ClaimGrants)
	if g == nil || g.Video == nil {
		return &auth.VideoGrant{}
	}
	return g.Video
}

func denied(grant string) error {
	return twirp.NewError(twirp.PermissionDenied, fmt.Sprintf("token lacks the %s grant", grant))
}

// admin checks roomAdmin for the named room and finds the room.
func (s *RoomService) admin(ctx context.Context, name string) (*room.Room, error) {
	g := grantsFrom(ctx)
	if !g.RoomAdmin || (g.Room != "" && g.Room != name) {
		return nil, denied("roomAdmin for room " + name)
	}
	r, ok := s.rooms.Get(name)
	if !ok {
		return nil, twirp.NotFoundError("room " + name + " does not exist")
	}
	return r, nil
}

func (s *RoomService) participant(ctx context.Context, roomName, identity string) (*room.Participant, *room.Room, error) {
	r, err := s.admin(ctx, roomName)
	if err != nil {
		return nil, nil, err
	}
	p, ok := r.Participant(identity)
	if !ok {
		return nil, nil, twirp.NotFoundError("participant " + identity + " is not in room " + roomName)
	}
	return p, r, nil
}

// CreateRoom implements livekit.RoomService.
func (s *RoomService) CreateRoom(ctx context.Context, req *livekit.CreateRoomRequest) (*livekit.Room, error) {
	if !grantsFrom(ctx).RoomCreate {
		return nil, denied("roomCreate")
	}
	if req.Name == "" {
		return nil, twirp.RequiredArgumentError("name")
	}
	r, err := s.rooms.GetOrCreate(req.Name)
	if err != nil {
		return nil, twirp.NewError(twirp.Unavailable, err.Error())
	}
	if req.Metadata != "" {
		return r.SetMetadata(req.Metadata), nil
	}
	return r.Info(), nil
}

// ListRooms implements livekit.RoomService.
func (s *RoomService) ListRooms(ctx context.Context, req *livekit.ListRoomsRequest) (*livekit.ListRoomsResponse, error) {
	if !grantsFrom(ctx).RoomList {
		return nil, denied("roomList")
	}
	want := map[string]bool{}
	for _, n := range req.Names {
		want[n] = true
	}
	res := &livekit.ListRoomsResponse{}
	for _, r := range s.rooms.List() {
		if len(want) == 0 || want[r.Name()] {
			res.Rooms = append(res.Rooms, r.Info())
		}
	}
	return res, nil
}

// DeleteRoom implements livekit.RoomService.
func (s *RoomService) DeleteRoom(ctx context.Context, req *livekit.DeleteRoomRequest) (*livekit.DeleteRoomResponse, error) {
	if !grantsFrom(ctx).RoomCreate {
		return nil, denied("roomCreate")
	}
	r, ok := s.rooms.Get(req.Room)
	if !ok {
		return nil, twirp.NotFoundError("room " + req.Room + " does not exist")
	}
	r.Close("deleted through RoomService")
	return &livekit.DeleteRoomResponse{}, nil
}

// ListParticipants implements livekit.RoomService.
func (s *RoomService) ListParticipants(ctx context.Context, req *livekit.ListParticipantsRequest) (*livekit.ListParticipantsResponse, error) {
	r, err := s.admin(ctx, req.Room)
	if err != nil {
		return nil, err
	}
	return &livekit.ListParticipantsResponse{Participants: r.Participants()}, nil
}

// GetParticipant implements livekit.RoomService.
func (s *RoomService) GetParticipant(ctx context.Context, req *livekit.RoomParticipantIdentity) (*livekit.ParticipantInfo, error) {
	p, _, err := s.participant(ctx, req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	return p.Info(), nil
}

// RemoveParticipant implements livekit.RoomService.
func (s *RoomService) RemoveParticipant(ctx context.Context, req *livekit.RoomParticipantIdentity) (*livekit.RemoveParticipantResponse, error) {
	_, r, err := s.participant(ctx, req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	if err := r.Kick(req.Identity); err != nil {
		return nil, twirp.NotFoundError(err.Error())
	}
	return &livekit.RemoveParticipantResponse{}, nil
}

// MutePublishedTrack implements livekit.RoomService.
func (s *RoomService) MutePublishedTrack(ctx context.Context, req *livekit.MuteRoomTrackRequest) (*livekit.MuteRoomTrackResponse, error) {
	p, _, err := s.participant(ctx, req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	info, err := p.AdminMute(req.TrackSid, req.Muted)
	if err != nil {
		return nil, twirp.NotFoundError(err.Error())
	}
	return &livekit.MuteRoomTrackResponse{Track: info}, nil
}

// UpdateParticipant implements livekit.RoomService.
func (s *RoomService) UpdateParticipant(ctx context.Context, req *livekit.UpdateParticipantRequest) (*livekit.ParticipantInfo, error) {
	p, _, err := s.participant(ctx, req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	p.UpdateMetadata(req.Name, req.Metadata, req.Attributes, req.Permission)
	return p.Info(), nil
}

// UpdateSubscriptions implements livekit.RoomService.
func (s *RoomService) UpdateSubscriptions(ctx context.Context, req *livekit.UpdateSubscriptionsRequest) (*livekit.UpdateSubscriptionsResponse, error) {
	p, r, err := s.participant(ctx, req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	if err := r.UpdateSubscription(p, &livekit.UpdateSubscription{
		TrackSids: req.TrackSids, ParticipantTracks: req.ParticipantTracks, Subscribe: req.Subscribe,
	}); err != nil {
		return nil, twirp.NewError(twirp.FailedPrecondition, err.Error())
	}
	return &livekit.UpdateSubscriptionsResponse{}, nil
}

// SendData implements livekit.RoomService.
func (s *RoomService) SendData(ctx context.Context, req *livekit.SendDataRequest) (*livekit.SendDataResponse, error) {
	r, err := s.admin(ctx, req.Room)
	if err != nil {
		return nil, err
	}
	dp := &livekit.DataPacket{Kind: req.Kind, DestinationIdentities: req.DestinationIdentities,
		Value: &livekit.DataPacket_User{User: &livekit.UserPacket{Payload: req.Data, Topic: req.Topic}}}
	if err := r.SendData(dp, req.DestinationIdentities); err != nil {
		return nil, twirp.InternalErrorWith(err)
	}
	return &livekit.SendDataResponse{}, nil
}

// UpdateRoomMetadata implements livekit.RoomService.
func (s *RoomService) UpdateRoomMetadata(ctx context.Context, req *livekit.UpdateRoomMetadataRequest) (*livekit.Room, error) {
	r, err := s.admin(ctx, req.Room)
	if err != nil {
		return nil, err
	}
	return r.SetMetadata(req.Metadata), nil
}

// ForwardParticipant is LiveKit Cloud-only.
func (s *RoomService) ForwardParticipant(context.Context, *livekit.ForwardParticipantRequest) (*livekit.ForwardParticipantResponse, error) {
	return nil, twirp.NewError(twirp.Unimplemented, "ForwardParticipant is not supported")
}

// MoveParticipant is LiveKit Cloud-only.
func (s *RoomService) MoveParticipant(context.Context, *livekit.MoveParticipantRequest) (*livekit.MoveParticipantResponse, error) {
	return nil, twirp.NewError(twirp.Unimplemented, "MoveParticipant is not supported")
}

// PerformRpc is not supported yet.
func (s *RoomService) PerformRpc(context.Context, *livekit.PerformRpcRequest) (*livekit.PerformRpcResponse, error) {
	return nil, twirp.NewError(twirp.Unimplemented, "PerformRpc is not supported")
}
