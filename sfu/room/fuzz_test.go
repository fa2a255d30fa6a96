package room

import (
	"testing"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/sfu/rtc"
)

// discardSink is a signaling session that goes nowhere: the fuzzers look at
// the server's handling, not at what it answers.
type discardSink struct{}

func (discardSink) Send(*livekit.SignalResponse) {}
func (discardSink) Close()                       {}

func fuzzRoom(t testing.TB) *Room {
	e, err := rtc.NewEngine(rtc.Config{UDPPort: 0, TCPPort: -1, AllowLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	m := NewManager(Config{Engine: e})
	t.Cleanup(func() { m.Close("fuzz done"); e.Close() })
	r, err := m.GetOrCreate("fuzz")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func join(t testing.TB, r *Room, id string) *Participant {
	p, err := r.Join(JoinParams{Identity: id, Grants: &auth.VideoGrant{RoomJoin: true, Room: "fuzz"}, Sink: discardSink{}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// realOffer is what a simulcast publisher (pion) offers.
func realOffer(t testing.TB) string {
	m := &webrtc.MediaEngine{}
	_ = m.RegisterDefaultCodecs()
	_ = webrtc.ConfigureSimulcastExtensionHeaders(m)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var tr *webrtc.RTPTransceiver
	for i, rid := range []string{"q", "h", "f"} {
		track, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "s", webrtc.WithRTPStreamID(rid))
		if i == 0 {
			tr, _ = pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		} else {
			_ = tr.Sender().AddEncoding(track)
		}
	}
	_, _ = pc.CreateDataChannel("_reliable", nil)
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return offer.SDP
}

// FuzzPublisherOffer: arbitrary SDP offers are answered or refused with an
// error, never a panic or a stuck participant.
func FuzzPublisherOffer(f *testing.F) {
	r := fuzzRoom(f)
	f.Add(realOffer(f))
	f.Add("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
	f.Add("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H265/90000\r\n")
	f.Add("")
	n := 0
	f.Fuzz(func(t *testing.T, sdp string) {
		n++
		p := join(t, r, "p")
		_ = p.HandleOffer(&livekit.SessionDescription{Type: "offer", Sdp: sdp, Id: uint32(n)})
		_ = p.AddICECandidate(&livekit.TrickleRequest{CandidateInit: `{"candidate":"` + sdp + `"}`})
		_ = p.HandleAnswer(&livekit.SessionDescription{Type: "answer", Sdp: sdp})
	})
}
