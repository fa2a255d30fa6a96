package signaling

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"

	"github.com/classcast/classcast/recorder/live"
)

// Recordings is the recorder side of the Egress API (recorder/live.Service).
type Recordings interface {
	Start(ctx context.Context, req live.Request) (live.Info, error)
	Stop(ctx context.Context, id string) (live.Info, error)
	List(ctx context.Context, room, id string, activeOnly bool) ([]live.Info, error)
}

// Egress implements LiveKit's Egress Twirp API on the recorder, so
// `lk egress …` and LiveKit's server SDKs start, list and stop recordings.
//
// classcast records without transcoding: every track is stored as its own
// fMP4 file, as published, and the recording becomes an asset playable as
// HLS. So track and participant egress map one to one; room composite and
// track composite egress are recorded per track (the same room or tracks,
// no mixing, no layout), which the EgressInfo's details say. Output
// destinations in requests (file paths, cloud uploads) are ignored:
// recordings go to the server's data dir and the results name them there.
// Web egress, streaming outputs and layout/stream updates are not
// supported.
type Egress struct {
	rec Recordings
}

// NewEgressHandler returns the Twirp handler with token checking (the
// roomRecord grant); mount it at its PathPrefix (/twirp/livekit.Egress/).
// rec may be nil when recording is disabled: every call then says so.
func NewEgressHandler(keys Keys, rec Recordings) (string, http.Handler) {
	srv := livekit.NewEgressServer(&Egress{rec: rec})
	return srv.PathPrefix(), withGrants(keys, srv)
}

const perTrackDetails = "classcast records per track, without compositing or transcoding: each track is " +
	"its own file (see file_results); the recording plays as HLS at manifest_location"

// allowed checks the roomRecord grant (limited to its room, if it names one).
func (e *Egress) allowed(ctx context.Context, roomName string) error {
	g := grantsFrom(ctx)
	if !g.RoomRecord || (g.Room != "" && roomName != "" && g.Room != roomName) {
		return denied("roomRecord")
	}
	if e.rec == nil {
		return twirp.NewError(twirp.Unavailable, "recording is disabled on this server (no data dir)")
	}
	return nil
}

func (e *Egress) start(ctx context.Context, req live.Request, details string) (*livekit.EgressInfo, error) {
	if err := e.allowed(ctx, req.Room); err != nil {
		return nil, err
	}
	in, err := e.rec.Start(ctx, req)
	if err != nil {
		return nil, egressError(err)
	}
	return egressInfo(in, details), nil
}

// StartRoomCompositeEgress implements livekit.Egress: the room is recorded
// per track (no composite).
func (e *Egress) StartRoomCompositeEgress(ctx context.Context, req *livekit.RoomCompositeEgressRequest) (*livekit.EgressInfo, error) {
	if len(req.StreamOutputs) > 0 || req.GetStream() != nil {
		return nil, twirp.NewError(twirp.Unimplemented, "streaming outputs are not supported; classcast records to files")
	}
	return e.start(ctx, live.Request{Room: req.RoomName, Kind: live.KindRoom, AudioOnly: req.AudioOnly, VideoOnly: req.VideoOnly},
		"room composite recorded as a per-track room recording: "+perTrackDetails)
}

// StartParticipantEgress implements livekit.Egress.
func (e *Egress) StartParticipantEgress(ctx context.Context, req *livekit.ParticipantEgressRequest) (*livekit.EgressInfo, error) {
	if len(req.StreamOutputs) > 0 {
		return nil, twirp.NewError(twirp.Unimplemented, "streaming outputs are not supported; classcast records to files")
	}
	return e.start(ctx, live.Request{Room: req.RoomName, Kind: live.KindParticipant, Identity: req.Identity, ScreenShare: req.ScreenShare},
		perTrackDetails)
}

// StartTrackEgress implements livekit.Egress.
func (e *Egress) StartTrackEgress(ctx context.Context, req *livekit.TrackEgressRequest) (*livekit.EgressInfo, error) {
	if req.GetWebsocketUrl() != "" {
		return nil, twirp.NewError(twirp.Unimplemented, "websocket output is not supported; classcast records to files")
	}
	return e.start(ctx, live.Request{Room: req.RoomName, Kind: live.KindTracks, Tracks: []string{req.TrackId}}, perTrackDetails)
}

// StartTrackCompositeEgress implements livekit.Egress: the two tracks are
// recorded side by side (not muxed into one file).
func (e *Egress) StartTrackCompositeEgress(ctx context.Context, req *livekit.TrackCompositeEgressRequest) (*livekit.EgressInfo, error) {
	if len(req.StreamOutputs) > 0 || req.GetStream() != nil {
		return nil, twirp.NewError(twirp.Unimplemented, "streaming outputs are not supported; classcast records to files")
	}
	var sids []string
	for _, s := range []string{req.AudioTrackId, req.VideoTrackId} {
		if s != "" {
			sids = append(sids, s)
		}
	}
	return e.start(ctx, live.Request{Room: req.RoomName, Kind: live.KindTracks, Tracks: sids},
		"track composite recorded per track: "+perTrackDetails)
}

// StartWebEgress implements livekit.Egress.
func (e *Egress) StartWebEgress(context.Context, *livekit.WebEgressRequest) (*livekit.EgressInfo, error) {
	return nil, twirp.NewError(twirp.Unimplemented, "web egress (recording a web page) is not supported")
}

// StartEgress implements livekit.Egress.
func (e *Egress) StartEgress(context.Context, *livekit.StartEgressRequest) (*livekit.EgressInfo, error) {
	return nil, twirp.NewError(twirp.Unimplemented,
		"the unified StartEgress is not supported; use StartRoomCompositeEgress, StartParticipantEgress or StartTrackEgress")
}

// UpdateLayout implements livekit.Egress.
func (e *Egress) UpdateLayout(context.Context, *livekit.UpdateLayoutRequest) (*livekit.EgressInfo, error) {
	return nil, twirp.NewError(twirp.Unimplemented, "layouts are not supported: classcast records per track, without compositing")
}

// UpdateStream implements livekit.Egress.
func (e *Egress) UpdateStream(context.Context, *livekit.UpdateStreamRequest) (*livekit.EgressInfo, error) {
	return nil, twirp.NewError(twirp.Unimplemented, "streaming outputs are not supported; classcast records to files")
}

// ListEgress implements livekit.Egress.
func (e *Egress) ListEgress(ctx context.Context, req *livekit.ListEgressRequest) (*livekit.ListEgressResponse, error) {
	if err := e.allowed(ctx, req.RoomName); err != nil {
		return nil, err
	}
	g := grantsFrom(ctx)
	infos, err := e.rec.List(ctx, req.RoomName, req.EgressId, req.Active)
	if err != nil {
		return nil, egressError(err)
	}
	res := &livekit.ListEgressResponse{Items: []*livekit.EgressInfo{}}
	for _, in := range infos {
		if g.Room == "" || g.Room == in.Room {
			res.Items = append(res.Items, egressInfo(in, ""))
		}
	}
	return res, nil
}

// StopEgress implements livekit.Egress. It waits for the recording to be
// finalized (bounded by the request), so the answer carries the files.
func (e *Egress) StopEgress(ctx context.Context, req *livekit.StopEgressRequest) (*livekit.EgressInfo, error) {
	if err := e.allowed(ctx, ""); err != nil {
		return nil, err
	}
	if req.EgressId == "" {
		return nil, twirp.RequiredArgumentError("egress_id")
	}
	if g := grantsFrom(ctx); g.Room != "" {
		infos, err := e.rec.List(ctx, "", req.EgressId, false)
		if err != nil {
			return nil, egressError(err)
		}
		if len(infos) > 0 && infos[0].Room != g.Room {
			return nil, denied("roomRecord for room " + infos[0].Room)
		}
	}
	in, err := e.rec.Stop(ctx, req.EgressId)
	if err != nil {
		return nil, egressError(err)
	}
	return egressInfo(in, ""), nil
}

func egressError(err error) error {
	switch {
	case errors.Is(err, live.ErrRoomNotFound), errors.Is(err, live.ErrTrackNotFound), errors.Is(err, live.ErrNotFound):
		return twirp.NewError(twirp.NotFound, err.Error())
	case errors.Is(err, live.ErrNotActive):
		return twirp.NewError(twirp.FailedPrecondition, err.Error())
	case errors.Is(err, live.ErrBadRequest):
		return twirp.NewError(twirp.InvalidArgument, err.Error())
	case errors.Is(err, live.ErrClosed):
		return twirp.NewError(twirp.Unavailable, err.Error())
	}
	return twirp.InternalErrorWith(err)
}

func egressStatus(s live.Status) livekit.EgressStatus {
	switch s {
	case live.StatusEnding:
		return livekit.EgressStatus_EGRESS_ENDING
	case live.StatusComplete:
		return livekit.EgressStatus_EGRESS_COMPLETE
	case live.StatusFailed:
		return livekit.EgressStatus_EGRESS_FAILED
	}
	return livekit.EgressStatus_EGRESS_ACTIVE
}

// egressInfo describes a recording the way LiveKit's egress does.
func egressInfo(in live.Info, details string) *livekit.EgressInfo {
	out := &livekit.EgressInfo{
		EgressId: in.ID, RoomId: in.RoomSID, RoomName: in.Room, SourceType: livekit.EgressSourceType_EGRESS_SOURCE_TYPE_SDK,
		Status: egressStatus(in.Status), Error: in.Error, StartedAt: in.StartedAt.UnixNano(), UpdatedAt: in.UpdatedAt.UnixNano(),
		ManifestLocation: "/media/" + in.ID + "/master.m3u8",
		Details:          details,
	}
	if in.Status == live.StatusFailed {
		out.ErrorCode = http.StatusInternalServerError
	}
	if !in.EndedAt.IsZero() {
		out.EndedAt = in.EndedAt.UnixNano()
	}
	switch in.Kind {
	case live.KindRoom:
		if out.Details == "" {
			out.Details = fmt.Sprintf("per-track room recording (%s): %s", in.Origin, perTrackDetails)
		}
		out.Request = &livekit.EgressInfo_RoomComposite{RoomComposite: &livekit.RoomCompositeEgressRequest{
			RoomName: in.Room, AudioOnly: in.AudioOnly, VideoOnly: in.VideoOnly}}
	case live.KindParticipant:
		out.Request = &livekit.EgressInfo_Participant{Participant: &livekit.ParticipantEgressRequest{
			RoomName: in.Room, Identity: in.Identity, ScreenShare: in.ScreenShare}}
	case live.KindTracks:
		if len(in.Tracks) == 1 {
			out.Request = &livekit.EgressInfo_Track{Track: &livekit.TrackEgressRequest{RoomName: in.Room, TrackId: in.Tracks[0]}}
		} else {
			tc := &livekit.TrackCompositeEgressRequest{RoomName: in.Room}
			if len(in.Tracks) > 0 {
				tc.AudioTrackId = in.Tracks[0]
			}
			if len(in.Tracks) > 1 {
				tc.VideoTrackId = in.Tracks[1]
			}
			out.Request = &livekit.EgressInfo_TrackComposite{TrackComposite: tc}
		}
	}
	for _, f := range in.Files {
		out.FileResults = append(out.FileResults, &livekit.FileInfo{
			Filename: f.Path, StartedAt: f.Start.UnixNano(), EndedAt: f.End.UnixNano(),
			Duration: f.End.Sub(f.Start).Nanoseconds(), Size: f.Size,
			Location: "/media/" + in.ID + "/files/" + f.Asset,
		})
	}
	if len(out.FileResults) > 0 {
		out.Result = &livekit.EgressInfo_File{File: out.FileResults[0]}
	}
	return out
}
