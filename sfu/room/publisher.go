package room

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// publisher wraps the peer connection on which the client sends media; the
// client offers, the server answers.
type publisher struct {
	p   *Participant
	pc  *webrtc.PeerConnection
	ice iceQueue
	wg  sync.WaitGroup
}

func newPublisher(p *Participant) (*publisher, error) {
	pc, err := p.room.cfg.Engine.NewPublisherPC(p.iceConfig())
	if err != nil {
		return nil, err
	}
	pb := &publisher{p: p, pc: pc}
	pb.ice.pc = pc
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		p.sendTrickle(c, livekit.SignalTarget_PUBLISHER)
	})
	pc.OnTrack(func(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		p.onRemoteTrack(remote, recv)
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		reliable := dc.Label() == reliableLabel
		if dc.Label() != reliableLabel && dc.Label() != lossyLabel {
			return
		}
		dc.OnMessage(func(msg webrtc.DataChannelMessage) {
			p.onDataMessage(msg.Data, reliable)
		})
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("publisher connection", "state", s.String())
	})
	return pb, nil
}

// handleOffer answers the client's publisher offer.
func (pb *publisher) handleOffer(sd *livekit.SessionDescription) error {
	if err := pb.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sd.Sdp}); err != nil {
		return fmt.Errorf("%w: publisher offer: %w", ErrBadRequest, err)
	}
	pb.ice.remoteSet()
	answer, err := pb.pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("%w: publisher answer: %w", ErrBadRequest, err)
	}
	if err := pb.pc.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("%w: publisher answer: %w", ErrBadRequest, err)
	}
	pb.p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Answer{Answer: &livekit.SessionDescription{
		Type: "answer", Sdp: pb.pc.LocalDescription().SDP, Id: sd.Id,
	}}})
	return nil
}

func (pb *publisher) requestKeyframe(ssrc uint32) {
	_ = pb.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}

func (pb *publisher) close() {
	_ = pb.pc.Close()
	pb.wg.Wait()
}

// iceQueue holds remote candidates that arrive before the remote description.
type iceQueue struct {
	pc      *webrtc.PeerConnection
	mu      sync.Mutex
	ready   bool
	pending []webrtc.ICECandidateInit
}

func (q *iceQueue) add(c webrtc.ICECandidateInit) error {
	q.mu.Lock()
	if !q.ready {
		if len(q.pending) < 64 {
			q.pending = append(q.pending, c)
		}
		q.mu.Unlock()
		return nil
	}
	q.mu.Unlock()
	return q.pc.AddICECandidate(c)
}

func (q *iceQueue) remoteSet() {
	q.mu.Lock()
	q.ready = true
	pending := q.pending
	q.pending = nil
	q.mu.Unlock()
	for _, c := range pending {
		_ = q.pc.AddICECandidate(c)
	}
}

// AddICECandidate applies a trickled candidate from the client.
func (p *Participant) AddICECandidate(t *livekit.TrickleRequest) error {
	if t.Final || t.CandidateInit == "" {
		return nil
	}
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal([]byte(t.CandidateInit), &c); err != nil {
		return fmt.Errorf("%w: candidate: %w", ErrBadRequest, err)
	}
	if c.Candidate == "" {
		return nil
	}
	if t.Target == livekit.SignalTarget_SUBSCRIBER {
		return p.sub.ice.add(c)
	}
	return p.pub.ice.add(c)
}

func (p *Participant) sendTrickle(c *webrtc.ICECandidate, target livekit.SignalTarget) {
	if c == nil {
		return
	}
	b, err := json.Marshal(c.ToJSON())
	if err != nil {
		return
	}
	p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Trickle{Trickle: &livekit.TrickleRequest{
		CandidateInit: string(b), Target: target,
	}}})
}

// HandleOffer answers a publisher offer from the client.
func (p *Participant) HandleOffer(sd *livekit.SessionDescription) error {
	return p.pub.handleOffer(sd)
}

// onRemoteTrack attaches an arriving RTP stream (one simulcast layer) to the
// track the client announced with AddTrackRequest.
func (p *Participant) onRemoteTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	mime := remote.Codec().MimeType
	if !supportedMime(mime) {
		p.log.Warn("refusing track with unsupported codec", "codec", mime)
		p.sendRequestError(livekit.RequestResponse_UNSUPPORTED_TYPE,
			fmt.Sprintf("codec %s is not supported; use one of %s", mime, strings.Join(supportedMimes(), ", ")), nil)
		return
	}
	t, layer, created := p.bindRemote(remote, recv)
	if t == nil {
		p.log.Warn("media arrived for no announced track", "track", remote.ID(), "rid", remote.RID())
		return
	}
	t.setSSRC(layer, uint32(remote.SSRC()))
	p.pub.wg.Add(2)
	go p.readRTP(t, layer, remote)
	go p.readRTCP(t, layer, recv, remote.RID())
	if created {
		p.room.trackPublished(p, t)
	}
}

func (p *Participant) readRTP(t *publishedTrack, layer int, remote *webrtc.TrackRemote) {
	defer p.pub.wg.Done()
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			break
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		t.up.WriteRTP(layer, buf[:n], &pkt)
	}
	if t.layerEnded() {
		p.room.trackEnded(p, t.info.Sid)
	}
}

// readRTCP drains the receiver's RTCP so pion's receiver-report interceptor
// sees the publisher's sender reports, and passes their wall clock on to
// consumers that align tracks (recorder, RTSP players).
func (p *Participant) readRTCP(t *publishedTrack, layer int, recv *webrtc.RTPReceiver, rid string) {
	defer p.pub.wg.Done()
	for {
		var (
			pkts []rtcp.Packet
			err  error
		)
		if rid != "" {
			pkts, _, err = recv.ReadSimulcastRTCP(rid)
		} else {
			pkts, _, err = recv.ReadRTCP()
		}
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			if sr, ok := pkt.(*rtcp.SenderReport); ok {
				t.up.SenderReport(layer, ntpTime(sr.NTPTime), sr.RTPTime)
			}
		}
	}
}

// ntpTime converts a 64-bit NTP timestamp to wall-clock time.
func ntpTime(ntp uint64) time.Time {
	const ntpEpochOffset = 2208988800
	secs := int64(ntp>>32) - ntpEpochOffset
	frac := (ntp & 0xffffffff) * 1e9 >> 32
	return time.Unix(secs, int64(frac))
}

func audioLevelExtID(recv *webrtc.RTPReceiver) uint8 {
	for _, e := range recv.GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			return uint8(e.ID)
		}
	}
	return 0
}

func supportedMime(m string) bool {
	for _, s := range supportedMimes() {
		if strings.EqualFold(s, m) {
			return true
		}
	}
	return false
}
