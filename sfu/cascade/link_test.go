package cascade

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"
)

func startPair(t *testing.T, origin *fakeOrigin, parentEvents, childEvents EventHandler) (*Server, *Link) {
	t.Helper()
	srv, err := Listen(ServerConfig{NodeID: "origin-1", Addr: "127.0.0.1:0", Auth: Auth{ClusterSecret: testSecret},
		Upstream: origin, Packets: origin, Events: parentEvents, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	link, err := Dial(LinkConfig{NodeID: "edge-1", ParentAddr: srv.Addr().String(),
		Auth: Auth{ClusterSecret: testSecret}, Events: childEvents, Logger: quiet()})
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	return srv, link
}

// TestLinkControlAndMedia runs the whole control vocabulary and 10,000 RTP
// packets over real loopback QUIC.
func TestLinkControlAndMedia(t *testing.T) {
	origin := newFakeOrigin()
	parentEvents, childEvents := &eventLog{}, &eventLog{}
	srv, link := startPair(t, origin, parentEvents, childEvents)
	defer srv.Close()
	defer link.Close()

	eventually(t, "link up", 5*time.Second, link.Connected)
	link.JoinRoom("room-1")
	prod := newFakeProducer()
	sub, err := link.Subscribe("room-1", "TR_cam", []int{0, 1}, prod)
	if err != nil {
		t.Fatal(err)
	}
	<-sub.Ready()
	if err := sub.Err(); err != nil {
		t.Fatal(err)
	}
	if info, ok := sub.Info(); !ok || info.SID != "TR_cam" || info.Codec.MimeType != "video/VP8" {
		t.Fatalf("info %+v", info)
	}
	eventually(t, "layers attached", time.Second, func() bool {
		return origin.attached("TR_cam", 0) && origin.attached("TR_cam", 1)
	})

	// Refused subscription.
	bad, _ := link.Subscribe("room-1", "TR_missing", []int{0}, newFakeProducer())
	<-bad.Ready()
	if !errors.Is(bad.Err(), ErrSubscribe) {
		t.Fatalf("missing track: %v", bad.Err())
	}
	bad.Close()

	// Events both ways, data packets included.
	eventually(t, "child joined", time.Second, func() bool { return len(srv.Children()) == 1 })
	srv.Broadcast(Event{Room: "room-1", Kind: EventParticipantJoined, Participant: "PA_teacher"})
	srv.Broadcast(Event{Room: "room-other", Kind: EventParticipantJoined})
	eventually(t, "event at child", time.Second, func() bool { return childEvents.count() == 1 })
	if ev := childEvents.last(); ev.Participant != "PA_teacher" || ev.Kind != EventParticipantJoined {
		t.Fatalf("child got %+v", ev)
	}
	if err := link.SendEvent(Event{Room: "room-1", Kind: EventData, Payload: []byte("hand raised")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "data at parent", time.Second, func() bool { return parentEvents.count() == 1 })
	if ev := parentEvents.last(); !bytes.Equal(ev.Payload, []byte("hand raised")) {
		t.Fatalf("parent got %+v", ev)
	}

	// 10,000 packets on layer 0, 1,000 on layer 1.
	payload := make([]byte, 1000)
	for i := range 10000 {
		origin.publish("TR_cam", 0, uint16(60000+i), payload) // wraps past 65535
		if i%10 == 0 {
			origin.publish("TR_cam", 1, uint16(i/10), payload[:300])
		}
		if i%10 == 9 {
			time.Sleep(5 * time.Millisecond) // ≈2,000 packets/s, a few HD video layers
		}
	}
	eventually(t, "all packets", 10*time.Second, func() bool {
		return prod.distinct(0) == 10000 && prod.distinct(1) == 1000
	})
	if d := prod.dups(); d != 0 {
		t.Fatalf("%d duplicates reached the producer", d)
	}
	st := sub.Stats(0)
	t.Logf("layer 0: %+v, rtt %v, child plane %+v", st, link.RTT(), link.PlaneStats())
	if ps := link.PlaneStats(); ps.Accepted < 11000 || ps.Rejected+ps.Replayed+ps.BadFrames != 0 {
		t.Fatalf("child plane %+v", ps)
	}

	// Media-plane packets nobody sealed are refused by the parent and never
	// disturb the QUIC connection on the same socket.
	forger, err := net.DialUDP("udp", nil, srv.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	forged := make([]byte, 100)
	forged[0] = planeVersion | kindNack
	for i := range 50 {
		forged[4] = byte(i) // assorted session ids
		_, _ = forger.Write(forged)
	}
	_ = forger.Close()
	eventually(t, "forgeries refused", 2*time.Second, func() bool { return srv.PlaneStats().Rejected == 50 })
	if srv.PlaneStats().Accepted != 0 {
		t.Fatalf("parent plane %+v", srv.PlaneStats())
	}
	eventually(t, "rtt measured", 2*time.Second, func() bool { return link.RTT() > 0 })

	// Keyframe requests are merged per hop: a burst sends one PLI.
	before := origin.keyframeCount("TR_cam", 0)
	for range 20 {
		prod.onKF(0)
	}
	eventually(t, "PLI at origin", time.Second, func() bool { return origin.keyframeCount("TR_cam", 0) == before+1 })
	time.Sleep(100 * time.Millisecond)
	if n := origin.keyframeCount("TR_cam", 0); n != before+1 {
		t.Fatalf("20 requests became %d PLIs", n-before)
	}

	// Dynacast: drop layer 1.
	sub.SetLayers([]int{0})
	eventually(t, "layer 1 detached", time.Second, func() bool { return !origin.attached("TR_cam", 1) })
	sub.Close()
	eventually(t, "layer 0 detached", time.Second, func() bool { return !origin.attached("TR_cam", 0) })
}

// TestLinkReconnectsAfterParentRestart: the parent process goes away and
// comes back on the same address; the child re-subscribes by itself and
// its producer sees a gap, never a close.
func TestLinkReconnectsAfterParentRestart(t *testing.T) {
	origin := newFakeOrigin()
	srv, link := startPair(t, origin, nil, nil)
	defer link.Close()
	addr := srv.Addr().String()
	prod := newFakeProducer()
	sub, _ := link.Subscribe("room-1", "TR_cam", []int{0}, prod)
	<-sub.Ready()
	eventually(t, "attached", time.Second, func() bool { return origin.attached("TR_cam", 0) })
	for i := range 100 {
		origin.publish("TR_cam", 0, uint16(i), []byte("before"))
	}
	eventually(t, "first packets", 5*time.Second, func() bool { return prod.distinct(0) == 100 })

	srv.Close()
	eventually(t, "link notices", 10*time.Second, func() bool { return !link.Connected() })

	origin2 := newFakeOrigin()
	srv2, err := Listen(ServerConfig{NodeID: "origin-1", Addr: addr, Auth: Auth{ClusterSecret: testSecret},
		Upstream: origin2, Packets: origin2, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	eventually(t, "re-subscribed on the new parent", 10*time.Second, func() bool { return origin2.attached("TR_cam", 0) })
	if origin2.keyframeCount("TR_cam", 0) == 0 {
		t.Fatal("no keyframe requested after reconnect")
	}
	for i := range 100 {
		origin2.publish("TR_cam", 0, uint16(5000+i), []byte("after"))
	}
	eventually(t, "packets after restart", 5*time.Second, func() bool { return prod.has(0, 5099) })
	if prod.closed {
		t.Fatal("producer closed by a reconnect")
	}
}
