package node

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"

	client "github.com/classcast/classcast/client-sdk/go"
)

// TestDataPackets: reliable and lossy data reach everyone else or only the
// named identities, with the sender identity set by the server.
func TestDataPackets(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	rs := make(map[string]*responses)
	rooms := make(map[string]*client.Room)
	for _, id := range []string{"master", "class-a", "class-b"} {
		rs[id] = &responses{}
		rooms[id] = connect(t, ctx, n, "data", id, nil, client.WithCallbacks(rs[id].callbacks()))
	}
	if err := rooms["master"].SendData(ctx, []byte("to all"), client.Reliable, nil, "chat"); err != nil {
		t.Fatal(err)
	}
	if err := rooms["master"].SendData(ctx, []byte("only a"), client.Reliable, []string{"class-a"}, "chat"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "reliable delivery", func() bool { return rs["class-a"].received() == 2 && rs["class-b"].received() == 1 })
	rs["class-a"].mu.Lock()
	for _, d := range rs["class-a"].data {
		if d.SenderIdentity != "master" {
			t.Errorf("sender identity %q, want master", d.SenderIdentity)
		}
	}
	rs["class-a"].mu.Unlock()
	if rs["master"].received() != 0 {
		t.Errorf("sender received its own packet")
	}
	// Lossy: on loopback nothing is lost; a handful is enough to prove the path.
	for i := 0; i < 5; i++ {
		if err := rooms["class-b"].SendData(ctx, []byte("lossy"), client.Lossy, []string{"master"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "lossy delivery", func() bool { return rs["master"].received() >= 4 })
	if rs["class-a"].received() != 2 {
		t.Errorf("class-a got a packet addressed to master")
	}
}

// TestRoomService drives LiveKit's RoomService Twirp API as `lk room` and the
// server SDKs do.
func TestRoomService(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	base := "http://" + n.Addr().String()
	adminToken := func(g *auth.VideoGrant) http.Header {
		jwt, err := auth.NewAccessToken("devkey", "secret").SetIdentity("admin").SetValidFor(time.Hour).SetVideoGrant(g).ToJWT()
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set("Authorization", "Bearer "+jwt)
		return h
	}
	call := func(g *auth.VideoGrant) (context.Context, livekit.RoomService) {
		c, err := twirp.WithHTTPRequestHeaders(ctx, adminToken(g))
		if err != nil {
			t.Fatal(err)
		}
		return c, livekit.NewRoomServiceProtobufClient(base, http.DefaultClient)
	}
	all := &auth.VideoGrant{RoomCreate: true, RoomList: true, RoomAdmin: true}

	c, rsvc := call(all)
	if _, err := rsvc.CreateRoom(c, &livekit.CreateRoomRequest{Name: "admin-room", Metadata: "m1"}); err != nil {
		t.Fatal(err)
	}
	student := connect(t, ctx, n, "admin-room", "student", nil)
	list, err := rsvc.ListRooms(c, &livekit.ListRoomsRequest{})
	if err != nil || len(list.Rooms) != 1 || list.Rooms[0].Name != "admin-room" || list.Rooms[0].Metadata != "m1" {
		t.Fatalf("ListRooms = %v, %v", list, err)
	}
	ps, err := rsvc.ListParticipants(c, &livekit.ListParticipantsRequest{Room: "admin-room"})
	if err != nil || len(ps.Participants) != 1 || ps.Participants[0].Identity != "student" {
		t.Fatalf("ListParticipants = %v, %v", ps, err)
	}
	if _, err := rsvc.UpdateParticipant(c, &livekit.UpdateParticipantRequest{Room: "admin-room", Identity: "student", Metadata: "seat 4"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "metadata reaches the participant", func() bool {
		return student.LocalParticipant().GetMetadata() == "seat 4"
	})
	if _, err := rsvc.SendData(c, &livekit.SendDataRequest{Room: "admin-room", Data: []byte("hi"), Kind: livekit.DataPacket_RELIABLE}); err != nil {
		t.Fatal(err)
	}
	// Missing grants are refused with the reason.
	c2, weak := call(&auth.VideoGrant{RoomList: true})
	if _, err := weak.ListParticipants(c2, &livekit.ListParticipantsRequest{Room: "admin-room"}); twirpCode(err) != twirp.PermissionDenied {
		t.Errorf("ListParticipants without roomAdmin: %v", err)
	}
	if _, err := weak.DeleteRoom(c2, &livekit.DeleteRoomRequest{Room: "admin-room"}); twirpCode(err) != twirp.PermissionDenied {
		t.Errorf("DeleteRoom without roomCreate: %v", err)
	}
	if _, err := rsvc.RemoveParticipant(c, &livekit.RoomParticipantIdentity{Room: "admin-room", Identity: "student"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "removed participant disconnected", func() bool {
		select {
		case <-student.Done():
			return true
		default:
			return false
		}
	})
	if _, err := rsvc.DeleteRoom(c, &livekit.DeleteRoomRequest{Room: "admin-room"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rsvc.ListParticipants(c, &livekit.ListParticipantsRequest{Room: "admin-room"}); twirpCode(err) != twirp.NotFound {
		t.Errorf("deleted room still listed: %v", err)
	}
}

func twirpCode(err error) twirp.ErrorCode {
	if te, ok := err.(twirp.Error); ok {
		return te.Code()
	}
	return ""
}
