package ingest_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/client-sdk/go/media"
)

// pionAPI is a plain pion API (default codecs and interceptors: NACK, RTCP
// reports) on loopback, standing in for a WHIP encoder or WHEP player.
func pionAPI(t testing.TB) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(*loopbackSE()))
}

// offerAll creates the offer with every candidate in it.
func offerAll(t testing.TB, pc *webrtc.PeerConnection) string {
	t.Helper()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc.LocalDescription().SDP
}

// post sends an offer to a WHIP/WHEP endpoint and applies the answer. It
// returns the session URL.
func post(t testing.TB, pc *webrtc.PeerConnection, base, path, tok string) string {
	t.Helper()
	res, body := httpDo(t, http.MethodPost, base+path, tok, "application/sdp", offerAll(t, pc))
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/sdp" {
		t.Fatalf("answer Content-Type %q", ct)
	}
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, path+"/") {
		t.Fatalf("Location %q", loc)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		t.Fatal(err)
	}
	return base + loc
}

// whipPublisher is a pion WHIP client sending VP8 and Opus from files.
func whipPublisher(t testing.TB, ctx context.Context, wg *sync.WaitGroup, base, roomName, tok string) (*webrtc.PeerConnection, string) {
	t.Helper()
	pc, err := pionAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	v, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "v", "whip")
	a, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "a", "whip")
	for _, tr := range []webrtc.TrackLocal{v, a} {
		if _, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	loc := post(t, pc, base, "/whip/"+roomName, tok)
	pump(t, ctx, wg, sdkTestdata+"vp8_360p.ivf", v)
	pump(t, ctx, wg, sdkTestdata+"opus_48k.ogg", a)
	return pc, loc
}

func pump(t testing.TB, ctx context.Context, wg *sync.WaitGroup, path string, w media.SampleWriter) {
	t.Helper()
	src, err := media.OpenFile(path, 25)
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer src.Close()
		_ = media.Pump(ctx, src, w, nil)
	}()
}

// publishH264 publishes H.264 (constrained baseline, from a file) and Opus
// with the Go SDK.
func publishH264(t testing.TB, ctx context.Context, wg *sync.WaitGroup, r *client.Room) {
	t.Helper()
	v, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "cam", "teacher")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.PublishTrack(ctx, v, client.PublishOptions{Name: "camera", Source: livekit.TrackSource_CAMERA}); err != nil {
		t.Fatal(err)
	}
	pump(t, ctx, wg, sdkTestdata+"h264_360p.h264", v)
	a, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "teacher")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.PublishTrack(ctx, a, client.PublishOptions{Name: "mic", Source: livekit.TrackSource_MICROPHONE}); err != nil {
		t.Fatal(err)
	}
	pump(t, ctx, wg, sdkTestdata+"opus_48k.ogg", a)
}
