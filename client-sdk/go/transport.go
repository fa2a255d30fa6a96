package client

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/signalling"
	"github.com/pion/webrtc/v4"
)

// Data channel labels shared with livekit-client.
const (
	reliableLabel = "_reliable"
	lossyLabel    = "_lossy"
)

// transport is one of the two peer connections with the trickle queue and, for the publisher, the
// offer state machine (one offer in flight; a request arriving meanwhile re-offers after the answer).
type transport struct {
	pc     *webrtc.PeerConnection
	tagger *streamTagger
	target livekit.SignalTarget
	log    *slog.Logger
	send   func(*livekit.SignalRequest) error

	// mu guards the fields below.
	mu                sync.Mutex
	pendingCandidates []webrtc.ICECandidateInit
	remoteSet         bool
	offering          bool
	renegotiate       bool
	restartICE        bool
	negotiated        bool
	tagged            []uint32
}

func newTransport(api *API, ice []webrtc.ICEServer, target livekit.SignalTarget, log *slog.Logger,
	send func(*livekit.SignalRequest) error,
) (*transport, error) {
	pc, err := api.api.NewPeerConnection(webrtc.Configuration{
		ICEServers:    ice,
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
		SDPSemantics:  webrtc.SDPSemanticsUnifiedPlan,
	})
	if err != nil {
		return nil, fmt.Errorf("client: new peer connection: %w", err)
	}
	t := &transport{pc: pc, tagger: api.tagger, target: target, log: log, send: send}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return // gathering complete; livekit-client sends no end-of-candidates either
		}
		req := &livekit.SignalRequest{Message: &livekit.SignalRequest_Trickle{
			Trickle: signalling.ToProtoTrickle(c.ToJSON(), target, false),
		}}
		if err := t.send(req); err != nil {
			t.log.Debug("trickle not sent", "err", err)
		}
	})
	return t, nil
}

// addRemoteCandidate adds a trickled candidate, queueing it until the remote description is set.
func (t *transport) addRemoteCandidate(c webrtc.ICECandidateInit) error {
	t.mu.Lock()
	if !t.remoteSet {
		t.pendingCandidates = append(t.pendingCandidates, c)
		t.mu.Unlock()
		return nil
	}
	t.mu.Unlock()
	if err := t.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("client: add ice candidate: %w", err)
	}
	return nil
}

// setRemote applies a remote description and flushes queued candidates.
func (t *transport) setRemote(sd webrtc.SessionDescription) error {
	if err := t.pc.SetRemoteDescription(sd); err != nil {
		return fmt.Errorf("client: set remote %s: %w", sd.Type, err)
	}
	t.mu.Lock()
	t.remoteSet = true
	pending := t.pendingCandidates
	t.pendingCandidates = nil
	t.mu.Unlock()
	for _, c := range pending {
		if err := t.pc.AddICECandidate(c); err != nil {
			t.log.Debug("queued candidate rejected", "err", err)
		}
	}
	return nil
}

// answerOffer is the subscriber side: apply the server's offer, answer it with the same id.
func (t *transport) answerOffer(offer *livekit.SessionDescription) (*webrtc.SessionDescription, error) {
	sd, id, _ := signalling.FromProtoSessionDescription(offer)
	if err := t.setRemote(sd); err != nil {
		return nil, err
	}
	answer, err := t.pc.CreateAnswer(nil)
	if err != nil {
		return nil, fmt.Errorf("client: create answer: %w", err)
	}
	if err := t.pc.SetLocalDescription(answer); err != nil {
		return nil, fmt.Errorf("client: set local answer: %w", err)
	}
	local := t.pc.LocalDescription()
	req := &livekit.SignalRequest{Message: &livekit.SignalRequest_Answer{
		Answer: signalling.ToProtoSessionDescription(*local, id, nil),
	}}
	if err := t.send(req); err != nil {
		return nil, err
	}
	return local, nil
}

// negotiate sends a publisher offer, or marks that another one is due once the current answer lands.
func (t *transport) negotiate(iceRestart bool) error {
	t.mu.Lock()
	if iceRestart {
		t.restartICE = true
	}
	if t.offering {
		t.renegotiate = true
		t.mu.Unlock()
		return nil
	}
	t.offering = true
	restart := t.restartICE
	t.restartICE = false
	t.negotiated = true
	t.mu.Unlock()

	err := t.offer(restart, nil)
	if err != nil {
		t.mu.Lock()
		t.offering = false
		t.mu.Unlock()
	}
	return err
}

func (t *transport) offer(iceRestart bool, midToTrackID map[string]string) error {
	offer, err := t.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: iceRestart})
	if err != nil {
		return fmt.Errorf("client: create offer: %w", err)
	}
	if err := t.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("client: set local offer: %w", err)
	}
	// mids exist now and senders bind when the answer lands: register the simulcast SSRCs in between.
	added := t.tagger.tagSenders(t.pc)
	t.mu.Lock()
	t.tagged = append(t.tagged, added...)
	t.mu.Unlock()
	req := &livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{
		Offer: signalling.ToProtoSessionDescription(*t.pc.LocalDescription(), 0, midToTrackID),
	}}
	return t.send(req)
}

// handleAnswer applies the server's answer to our offer and sends the offer that became due meanwhile.
func (t *transport) handleAnswer(answer *livekit.SessionDescription) error {
	sd, _, _ := signalling.FromProtoSessionDescription(answer)
	if t.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return fmt.Errorf("%w: answer in signaling state %s", ErrUnexpectedMessage, t.pc.SignalingState())
	}
	if err := t.setRemote(sd); err != nil {
		return err
	}
	t.mu.Lock()
	t.offering = false
	again := t.renegotiate
	t.renegotiate = false
	t.mu.Unlock()
	if again {
		return t.negotiate(false)
	}
	return nil
}

// resetOffering forgets an offer that will never be answered (the signal connection it went out on
// died), so the next negotiate sends a fresh one.
func (t *transport) resetOffering() {
	t.mu.Lock()
	t.offering = false
	t.mu.Unlock()
}

func (t *transport) wasNegotiated() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.negotiated
}

func (t *transport) close() error {
	err := t.pc.GracefulClose()
	t.mu.Lock()
	t.tagger.untag(t.tagged)
	t.tagged = nil
	t.mu.Unlock()
	return err
}
