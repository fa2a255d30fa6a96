package client

import (
	"net/url"
	"testing"
	"time"

	"github.com/classcast/classcast/client-sdk/go/media"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

func TestRTCURL(t *testing.T) {
	u, err := rtcURL("https://sfu.example/base/", joinParams{
		token: "tok", autoSubscribe: true, protocol: 17, reconnect: true, sid: "PA_1",
		reason: livekit.ReconnectReason_RR_SIGNAL_DISCONNECTED, extra: url.Values{"adaptive_stream": {"1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := url.Parse(u)
	if p.Scheme != "wss" || p.Path != "/base/rtc" {
		t.Errorf("url %s", u)
	}
	q := p.Query()
	for k, v := range map[string]string{"access_token": "tok", "auto_subscribe": "1", "sdk": "go", "protocol": "17",
		"reconnect": "1", "sid": "PA_1", "reconnect_reason": "1", "adaptive_stream": "1", "version": SDKVersion} {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
}

func TestParseTrackIDs(t *testing.T) {
	for _, c := range []struct{ stream, track, p, tr string }{
		{"PA_a|TR_b", "TR_b", "PA_a", "TR_b"},
		{"PA_a|TR_b", "weird", "PA_a", "TR_b"},
		{"PA_a", "TR_b", "PA_a", "TR_b"},
		{"stream", "track", "", ""},
	} {
		p, tr := parseTrackIDs(c.stream, c.track)
		if p != c.p || tr != c.tr {
			t.Errorf("%q %q → %q %q", c.stream, c.track, p, tr)
		}
	}
}

// syntheticPackets packetizes n synthetic VP8 frames the way pion sends them.
func syntheticPackets(n int) []*rtp.Packet {
	src := media.NewSyntheticSource(media.SyntheticConfig{Width: 320, Height: 180, KeyframeInterval: 5})
	p := rtp.NewPacketizer(1200, 96, 1, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), 90000)
	var out []*rtp.Packet
	for i := 0; i < n; i++ {
		s, _ := src.NextSample()
		out = append(out, p.Packetize(s.Data, 3600)...)
	}
	return out
}

func TestObserveVP8Synthetic(t *testing.T) {
	rt := &RemoteTrack{Kind: webrtc.RTPCodecTypeVideo, payload: payloadVP8}
	pkts := syntheticPackets(10)
	dropped := false
	for _, p := range pkts {
		if info, _ := media.InspectVP8(p.Payload); !dropped && info.FrameStart && !info.Keyframe {
			dropped = true // lose one whole single-packet interframe
			continue
		}
		rt.Observe(p, 1200, time.Now())
	}
	s := rt.Stats()
	if s.Keyframes != 2 || s.Width != 320 || s.Height != 180 || s.SyntheticFrames != 9 || s.Frames != 10 {
		t.Errorf("stats %+v", s)
	}
	if s.SyntheticLost != 1 {
		t.Errorf("lost %d, want 1", s.SyntheticLost)
	}
}

func BenchmarkObserveVP8(b *testing.B) {
	rt := &RemoteTrack{Kind: webrtc.RTPCodecTypeVideo, payload: payloadVP8}
	pkts := syntheticPackets(25)
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		rt.Observe(pkts[i%len(pkts)], 1200, now)
		i++
	}
}

// BenchmarkUnmarshalObserve is the per-packet work of the drain loop after the read.
func BenchmarkUnmarshalObserve(b *testing.B) {
	rt := &RemoteTrack{Kind: webrtc.RTPCodecTypeVideo, payload: payloadVP8}
	raw, _ := syntheticPackets(2)[1].Marshal()
	pkt := &rtp.Packet{}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if err := pkt.Unmarshal(raw); err != nil {
			b.Fatal(err)
		}
		rt.Observe(pkt, len(raw), now)
	}
}
