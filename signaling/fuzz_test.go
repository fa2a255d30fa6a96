package signaling

import (
	"testing"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func signalSeeds() []*livekit.SignalRequest {
	return []*livekit.SignalRequest{
		{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: "v=0\r\n", Id: 3}}},
		{Message: &livekit.SignalRequest_Trickle{Trickle: &livekit.TrickleRequest{CandidateInit: `{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0"}`, Target: livekit.SignalTarget_SUBSCRIBER}}},
		{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{Cid: "cam", Type: livekit.TrackType_VIDEO, Source: livekit.TrackSource_CAMERA,
			Layers: []*livekit.VideoLayer{{Quality: livekit.VideoQuality_LOW, Width: 320, Height: 180}}}}},
		{Message: &livekit.SignalRequest_TrackSetting{TrackSetting: &livekit.UpdateTrackSettings{TrackSids: []string{"TR_x"}, Width: 320, Height: 180}}},
		{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{Timestamp: 1, Rtt: 2}}},
		{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{Reason: livekit.DisconnectReason_CLIENT_INITIATED}}},
		{Message: &livekit.SignalRequest_SyncState{SyncState: &livekit.SyncState{TrackSidsDisabled: []string{"TR_y"}}}},
	}
}

// FuzzDecodeRequest: any bytes in either framing decode or fail cleanly, and
// what decodes re-encodes.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range signalSeeds() {
		b, _ := proto.Marshal(s)
		f.Add(false, b)
		j, _ := protojson.Marshal(s)
		f.Add(true, j)
	}
	f.Add(false, []byte{0xff, 0xff, 0x01})
	f.Add(true, []byte(`{"offer": 12}`))
	f.Fuzz(func(t *testing.T, text bool, b []byte) {
		typ := websocket.MessageBinary
		if text {
			typ = websocket.MessageText
		}
		req, err := decodeRequest(typ, b)
		if err != nil {
			if req != nil {
				t.Fatal("request returned with an error")
			}
			return
		}
		if req.Message == nil {
			t.Fatal("decoded request without a message")
		}
		if _, err := proto.Marshal(req); err != nil {
			t.Fatalf("decoded request does not re-encode: %v", err)
		}
	})
}
