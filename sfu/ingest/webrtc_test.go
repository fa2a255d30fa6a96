package ingest_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/client-sdk/go/media"
)

// TestWHIPPublisherToSubscriber: a pion WHIP client publishes VP8+Opus with
// a canPublish token; a Go SDK subscriber sees the token's identity as an
// INGRESS participant and receives keyframes; trickle PATCH is accepted,
// DELETE makes the participant leave; bad requests get precise statuses.
func TestWHIPPublisherToSubscriber(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	n := startNode(t, nil)
	base := httpURL(n)
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()

	sub := connect(t, ctx, n, "lesson", "viewer", grant(false, true), client.WithAutoDrain())
	tok := token(t, "lesson", "obs", grant(true, false))
	start := time.Now()
	pc, loc := whipPublisher(t, ctx, &pumps, base, "lesson", tok)
	var video *client.RemoteTrack
	waitFor(t, 15*time.Second, "WHIP video at the subscriber", func() bool {
		video = trackOf(sub, "obs", "video")
		return video != nil && video.Stats().Keyframes > 0
	})
	t.Logf("WHIP → SFU → subscriber: first keyframe %v after POST", time.Since(start).Round(time.Millisecond))
	if p := sub.Participant("obs"); p == nil || p.Info.Kind != livekit.ParticipantInfo_INGRESS || len(p.Info.Tracks) != 2 {
		t.Fatalf("participant obs: %+v", p)
	}
	waitFor(t, 5*time.Second, "WHIP audio", func() bool {
		a := trackOf(sub, "obs", "audio")
		return a != nil && a.Stats().Packets > 20
	})

	// trickle: a well-formed candidate is accepted; an ICE restart is not
	frag := "a=ice-ufrag:" + iceUfrag(pc) + "\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"
	if res, body := httpDo(t, http.MethodPatch, loc, tok, "application/trickle-ice-sdpfrag", frag); res.StatusCode != http.StatusNoContent {
		t.Fatalf("PATCH: %d %s", res.StatusCode, body)
	}
	if res, _ := httpDo(t, http.MethodPatch, loc, tok, "application/trickle-ice-sdpfrag", "a=ice-ufrag:new\r\na=ice-pwd:newnewnewnewnewnewnewnew\r\n"); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("ICE restart PATCH: %d", res.StatusCode)
	}
	if res, _ := httpDo(t, http.MethodPatch, loc, tok, "text/plain", frag); res.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("PATCH text/plain: %d", res.StatusCode)
	}
	other := token(t, "lesson", "intruder", grant(true, false))
	if res, _ := httpDo(t, http.MethodDelete, loc, other, "", ""); res.StatusCode != http.StatusForbidden {
		t.Fatalf("DELETE by another publisher: %d", res.StatusCode)
	}
	if res, body := httpDo(t, http.MethodDelete, loc, tok, "", ""); res.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d %s", res.StatusCode, body)
	}
	left := waitFor(t, 5*time.Second, "obs to leave", func() bool { return sub.Participant("obs") == nil })
	t.Logf("WHIP DELETE → participant gone in %v", left.Round(time.Millisecond))
	if res, _ := httpDo(t, http.MethodDelete, loc, tok, "", ""); res.StatusCode != http.StatusNotFound {
		t.Fatalf("second DELETE: %d", res.StatusCode)
	}
}

func iceUfrag(pc *webrtc.PeerConnection) string {
	for _, l := range strings.Split(pc.LocalDescription().SDP, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

// TestWHIPRefusals: every bad request gets its status and reason, and no
// session, peer connection or goroutine is left behind (goleak).
func TestWHIPRefusals(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	n := startNode(t, nil)
	base := httpURL(n)
	pub := token(t, "lesson", "obs", grant(true, false))
	pc, err := pionAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	good := offerAll(t, pc)
	recvOnly := strings.ReplaceAll(good, "a=sendonly", "a=recvonly")
	h265 := h265Offer(t)
	noPwd := regexp.MustCompile(`a=ice-pwd:[^\r\n]*`).ReplaceAllString(good, "a=ice-pwd:")
	simulcast := func(lines string) string { return strings.Replace(good, "a=sendonly", "a=sendonly\r\n"+lines, 1) }
	undeclared := simulcast("a=rid:q send\r\na=simulcast:send q;h")
	fourLayers := simulcast("a=rid:0 send\r\na=rid:1 send\r\na=rid:2 send\r\na=rid:3 send\r\na=simulcast:send 0;1;2;3")
	cases := []struct {
		name, path, tok, ctype, body string
		want                         int
		reason                       string
	}{
		{"no token", "/whip/lesson", "", "application/sdp", good, 401, "no access token"},
		{"bad token", "/whip/lesson", "xyz", "application/sdp", good, 401, "invalid"},
		{"subscribe-only token", "/whip/lesson", token(t, "lesson", "v", grant(false, true)), "application/sdp", good, 403, "canPublish"},
		{"other room", "/whip/other", pub, "application/sdp", good, 403, "roomJoin"},
		{"wrong content type", "/whip/lesson", pub, "text/plain", good, 415, "application/sdp"},
		{"garbage", "/whip/lesson", pub, "application/sdp", "hello", 400, "v=0"},
		{"broken SDP", "/whip/lesson", pub, "application/sdp", "v=0\r\nm=video\r\n", 400, "SDP"},
		{"no send section", "/whip/lesson", pub, "application/sdp", recvOnly, 400, "sends no audio or video"},
		{"refused by pion", "/whip/lesson", pub, "application/sdp", noPwd, 400, "offer rejected"},
		{"undeclared simulcast rid", "/whip/lesson", pub, "application/sdp", undeclared, 400, "no a=rid line declares"},
		{"too many simulcast layers", "/whip/lesson", pub, "application/sdp", fourLayers, 400, "at most 3"},
		{"unknown codec", "/whip/lesson", pub, "application/sdp", h265, 406, "H265"},
		{"huge body", "/whip/lesson", pub, "application/sdp", "v=0\r\n" + strings.Repeat("a=x\r\n", 20000), 413, "larger"},
		{"bad room name", "/whip/a%20b", pub, "application/sdp", good, 400, "room"},
		{"unknown path", "/whip/a/b/c", pub, "application/sdp", good, 404, "not /whip/<room>"},
		{"unknown session", "/whip/lesson/WH_nope", pub, "", "", 405, "method not allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, body := httpDo(t, http.MethodPost, base+tc.path, tc.tok, tc.ctype, tc.body)
			if res.StatusCode != tc.want || !strings.Contains(body, tc.reason) {
				t.Fatalf("got %d %q, want %d containing %q", res.StatusCode, body, tc.want, tc.reason)
			}
		})
	}
	if res, _ := httpDo(t, http.MethodDelete, base+"/whip/lesson/WH_nope", pub, "", ""); res.StatusCode != http.StatusNotFound {
		t.Fatalf("DELETE unknown session: %d", res.StatusCode)
	}
	if res, _ := httpDo(t, http.MethodOptions, base+"/whip/lesson", "", "", ""); res.StatusCode != http.StatusNoContent {
		t.Fatalf("OPTIONS: %d", res.StatusCode)
	}
}

// TestWHEPPlayback: a Go SDK teacher publishes H.264+Opus; a pion WHEP
// player with a canSubscribe token receives both, H.264 keyframes included;
// DELETE ends the session; a participant that does not exist is 404.
func TestWHEPPlayback(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	n := startNode(t, nil)
	base := httpURL(n)
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	teacher := connect(t, ctx, n, "lesson", "teacher", grant(true, false))
	publishH264(t, ctx, &pumps, teacher)

	tok := token(t, "lesson", "player", grant(false, true))
	if res, body := httpDo(t, http.MethodPost, base+"/whep/lesson/nobody", tok, "application/sdp", "v=0"); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("garbage offer: %d %s", res.StatusCode, body)
	}

	pc, err := pionAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	var videoPkts, keyframes, audioPkts atomic.Int64
	var readers sync.WaitGroup
	defer readers.Wait()
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		readers.Add(1)
		defer readers.Done()
		buf := make([]byte, 1500)
		var p rtp.Packet
		for {
			n, _, err := tr.Read(buf)
			if err != nil {
				return
			}
			if p.Unmarshal(buf[:n]) != nil {
				continue
			}
			if tr.Kind() == webrtc.RTPCodecTypeAudio {
				audioPkts.Add(1)
				continue
			}
			videoPkts.Add(1)
			if media.H264Keyframe(p.Payload) {
				keyframes.Add(1)
			}
		}
	})
	waitFor(t, 10*time.Second, "teacher's tracks", func() bool {
		tracks, _ := n.Rooms().Get("lesson")
		return tracks != nil && len(participantTracks(tracks.Participants(), "teacher")) == 2
	})
	if res, body := httpDo(t, http.MethodPost, base+"/whep/lesson/nobody", tok, "application/sdp", recvOffer(t)); res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown participant: %d %s", res.StatusCode, body)
	}
	start := time.Now()
	loc := post(t, pc, base, "/whep/lesson/teacher", tok)
	waitFor(t, 15*time.Second, "H.264 keyframe over WHEP", func() bool { return keyframes.Load() > 0 })
	t.Logf("WHEP: first H.264 keyframe %v after POST", time.Since(start).Round(time.Millisecond))
	waitFor(t, 5*time.Second, "audio over WHEP", func() bool { return audioPkts.Load() > 20 })
	if mt := pc.GetTransceivers()[0].Receiver().Track().Codec().MimeType; !strings.EqualFold(mt, "video/H264") {
		t.Fatalf("video codec %s", mt)
	}
	before := videoPkts.Load()
	time.Sleep(time.Second)
	if videoPkts.Load() <= before {
		t.Fatal("video stopped")
	}
	if res, body := httpDo(t, http.MethodDelete, loc, tok, "", ""); res.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d %s", res.StatusCode, body)
	}
	waitFor(t, 5*time.Second, "WHEP connection closed", func() bool {
		return pc.ConnectionState() == webrtc.PeerConnectionStateClosed || pc.ConnectionState() == webrtc.PeerConnectionStateFailed ||
			pc.ConnectionState() == webrtc.PeerConnectionStateDisconnected
	})
	_ = pc.Close()
}

func participantTracks(ps []*livekit.ParticipantInfo, identity string) []*livekit.TrackInfo {
	for _, p := range ps {
		if p.Identity == identity {
			return p.Tracks
		}
	}
	return nil
}

// h265Offer is a WHIP offer whose only video codec the SFU does not carry.
func h265Offer(t *testing.T) string {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{PayloadType: 49,
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "video/H265", ClockRate: 90000}}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(*loopbackSE())).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	return offerAll(t, pc)
}

// recvOffer is a WHEP offer (video+audio recvonly) from a throwaway peer.
func recvOffer(t *testing.T) string {
	pc, err := pionAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	return offerAll(t, pc)
}
