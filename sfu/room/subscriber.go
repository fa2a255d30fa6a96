package room

import (
	"fmt"
	"strings"
	"sync"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/sfu/allocator"
	"github.com/classcast/classcast/sfu/bwe"
	"github.com/classcast/classcast/sfu/forward"
)

const (
	reliableLabel = "_reliable"
	lossyLabel    = "_lossy"
)

// subscriber wraps the peer connection on which the server sends media; the
// server offers. Offers are serialized: a change while an offer is out is
// folded into one follow-up offer after the answer.
type subscriber struct {
	p        *Participant
	pc       *webrtc.PeerConnection
	reliable *webrtc.DataChannel
	lossy    *webrtc.DataChannel
	ice      iceQueue
	wg       sync.WaitGroup
	// est estimates the bandwidth toward this subscriber (TWCC, REMB).
	est *bwe.Estimator

	mu          sync.Mutex
	offering    bool
	again       bool
	dataQueue   [][]byte
	dataWaiters []func()
	dataOpen    bool
	iceRestart  bool
	offerID     uint32
	closed      bool
}

func newSubscriber(p *Participant) (*subscriber, error) {
	pc, est, err := p.room.cfg.Engine.NewSubscriberPC(p.iceConfig())
	if err != nil {
		return nil, err
	}
	s := &subscriber{p: p, pc: pc, est: est}
	s.ice.pc = pc
	ordered := true
	if s.reliable, err = pc.CreateDataChannel(reliableLabel, &webrtc.DataChannelInit{Ordered: &ordered}); err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("reliable data channel: %w", err)
	}
	unordered := false
	var zero uint16
	if s.lossy, err = pc.CreateDataChannel(lossyLabel, &webrtc.DataChannelInit{Ordered: &unordered, MaxRetransmits: &zero}); err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("lossy data channel: %w", err)
	}
	s.reliable.OnOpen(s.flushData)
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		p.sendTrickle(c, livekit.SignalTarget_SUBSCRIBER)
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		p.log.Debug("subscriber connection", "state", st.String())
		if st == webrtc.PeerConnectionStateFailed {
			p.room.Remove(p.identity, p.sid, "subscriber connection failed")
		}
	})
	return s, nil
}

// negotiate sends a new offer, or schedules one if an offer is outstanding.
func (s *subscriber) negotiate(iceRestart bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.iceRestart = s.iceRestart || iceRestart
	if s.offering {
		s.again = true
		s.mu.Unlock()
		return
	}
	s.offering = true
	restart := s.iceRestart
	s.iceRestart = false
	s.offerID++
	id := s.offerID
	s.mu.Unlock()

	if err := s.sendOffer(id, restart); err != nil {
		s.p.log.Warn("subscriber offer failed", "err", err)
		s.mu.Lock()
		s.offering = false
		s.mu.Unlock()
	}
}

func (s *subscriber) sendOffer(id uint32, restart bool) error {
	offer, err := s.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: restart})
	if err != nil {
		return err
	}
	if err := s.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	mids := make(map[string]string)
	for _, tr := range s.pc.GetTransceivers() {
		if snd := tr.Sender(); snd != nil && snd.Track() != nil && tr.Mid() != "" {
			mids[tr.Mid()] = snd.Track().ID()
		}
	}
	s.p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Offer{Offer: &livekit.SessionDescription{
		Type: "offer", Sdp: s.pc.LocalDescription().SDP, Id: id, MidToTrackId: mids,
	}}})
	return nil
}

// handleAnswer applies the client's answer and sends any folded change.
func (s *subscriber) handleAnswer(sd *livekit.SessionDescription) error {
	if s.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return fmt.Errorf("%w: answer without an outstanding offer", ErrBadRequest)
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sd.Sdp}); err != nil {
		return fmt.Errorf("%w: subscriber answer: %w", ErrBadRequest, err)
	}
	s.ice.remoteSet()
	s.mu.Lock()
	s.offering = false
	again := s.again
	s.again = false
	s.mu.Unlock()
	if again {
		s.negotiate(false)
	}
	return nil
}

// subscription is one down track on the subscriber connection.
type subscription struct {
	s        *subscriber
	trackSID string
	local    *forward.LocalTrack
	sender   *webrtc.RTPSender
	// pt is the published track (for dynacast needs); publisherRole its
	// publisher's classcast role (master camera ranks first).
	pt            *publishedTrack
	publisherRole string

	// mu guards the allocation inputs and feedback below.
	mu           sync.Mutex
	request      allocator.Request
	priority     int // UpdateTrackSettings.priority: higher keeps its layer first
	applied      int // spatial layer last applied + 1 (0: none)
	fractionLost uint8
	jitter       uint32
}

func (sub *subscription) down() *forward.DownTrack { return sub.local.Down() }

// close removes the track from the connection; the caller renegotiates.
func (sub *subscription) close() {
	sub.local.Down().Close()
	if sub.sender != nil {
		_ = sub.s.pc.RemoveTrack(sub.sender)
	}
}

// addTrack adds a down track of up to the connection (no renegotiation).
func (s *subscriber) addTrack(up *forward.UpTrack, publisherSID string) (*subscription, error) {
	info := up.Info()
	// With congestion control the allocator raises the layer as the link
	// proves itself; starting at the top would flood a thin rural link for
	// the seconds before the first estimate.
	start := livekit.VideoQuality_LOW
	if s.p.room.cfg.NoCongestionControl {
		start = livekit.VideoQuality_HIGH
	}
	dt := forward.NewDownTrack(up, start)
	lt := forward.NewLocalTrack(dt, info.SID, publisherSID+"|"+info.SID)
	tr, err := s.pc.AddTransceiverFromTrack(lt, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		dt.Close()
		return nil, fmt.Errorf("add transceiver: %w", err)
	}
	// Offer only the publisher's exact codec (and its RTX): the SFU does not
	// transcode, so the subscriber must take what is sent.
	if prefs := codecPreferences(info.Codec); len(prefs) > 0 {
		_ = tr.SetCodecPreferences(prefs)
	}
	sub := &subscription{s: s, trackSID: info.SID, local: lt, sender: tr.Sender()}
	dt.OnStreamState(func(_ *forward.DownTrack, paused bool, _ forward.PauseReason) {
		state := livekit.StreamState_ACTIVE
		if paused {
			state = livekit.StreamState_PAUSED
		}
		s.p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_StreamStateUpdate{
			StreamStateUpdate: &livekit.StreamStateUpdate{StreamStates: []*livekit.StreamStateInfo{{
				ParticipantSid: publisherSID, TrackSid: info.SID, State: state,
			}}},
		}})
	})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		lt.ReadRTCP(tr.Sender(), sub.onReceiverReport)
	}()
	return sub, nil
}

func codecPreferences(c webrtc.RTPCodecParameters) []webrtc.RTPCodecParameters {
	out := []webrtc.RTPCodecParameters{c}
	if c.ClockRate == 90000 {
		for _, sc := range supportedCodecList() {
			if strings.EqualFold(sc.MimeType, webrtc.MimeTypeRTX) && sc.SDPFmtpLine == fmt.Sprintf("apt=%d", c.PayloadType) {
				out = append(out, sc)
			}
		}
	}
	return out
}

// maxQueuedData bounds reliable messages held for a data channel that is
// not open yet (a participant that just joined).
const maxQueuedData = 256

func (s *subscriber) sendData(b []byte, reliable bool) {
	if !reliable {
		if s.lossy.ReadyState() == webrtc.DataChannelStateOpen {
			_ = s.lossy.Send(b)
		}
		return
	}
	s.mu.Lock()
	if s.reliable.ReadyState() != webrtc.DataChannelStateOpen {
		// Reliable means reliable: hold it until the channel opens.
		if len(s.dataQueue) < maxQueuedData {
			s.dataQueue = append(s.dataQueue, b)
		}
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	_ = s.reliable.Send(b)
}

// flushData sends what was held while the reliable channel was opening,
// then tells whoever waited for the channel.
func (s *subscriber) flushData() {
	s.mu.Lock()
	q, waiters := s.dataQueue, s.dataWaiters
	s.dataQueue, s.dataWaiters, s.dataOpen = nil, nil, true
	s.mu.Unlock()
	for _, b := range q {
		_ = s.reliable.Send(b)
	}
	for _, f := range waiters {
		f()
	}
}

// onDataOpen calls f once the reliable channel is open (at once, on its own
// goroutine, if it already is).
func (s *subscriber) onDataOpen(f func()) {
	s.mu.Lock()
	if !s.dataOpen {
		s.dataWaiters = append(s.dataWaiters, f)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	go f()
}

func (s *subscriber) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	_ = s.pc.Close()
	s.wg.Wait()
}

// HandleAnswer applies the client's answer to a subscriber offer.
func (p *Participant) HandleAnswer(sd *livekit.SessionDescription) error {
	return p.sub.handleAnswer(sd)
}

// ICERestart renegotiates the subscriber connection with fresh ICE
// credentials (resume after a network change).
func (p *Participant) ICERestart() { p.sub.negotiate(true) }
