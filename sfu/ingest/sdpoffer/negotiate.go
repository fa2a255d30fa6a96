package sdpoffer

import (
	"context"
	"fmt"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Options tune Answer.
type Options struct {
	// Timeout bounds the whole negotiation: applying the offer, answering
	// and gathering candidates. Gathering gets four fifths of it; the answer
	// then carries the candidates found so far. Required (> 0).
	Timeout time.Duration
	// AddTracks, when not nil, runs between applying the offer and
	// answering (WHEP adds its send tracks there).
	AddTracks func() error
}

// Answer applies offer to pc and returns the answer with the candidates
// gathered (the node's media ports are muxed, so gathering takes
// milliseconds and clients need no trickle from us).
//
// It returns within opts.Timeout, or when ctx ends, whatever pion does with
// the offer, and on every error it closes pc: the caller owns pc only when
// the error is nil. pion's calls run on a goroutine of their own; when they
// overrun, that goroutine closes pc once they return (closing it from here
// could block on the very lock pion holds).
func Answer(ctx context.Context, pc *webrtc.PeerConnection, offer string, opts Options) (string, error) {
	type result struct {
		sdp string
		err error
	}
	deadline := time.NewTimer(opts.Timeout)
	defer deadline.Stop()
	// Gathering stops a little before the deadline so that a slow gatherer
	// still yields an answer (with the candidates found so far).
	gatherCtx, stopGather := context.WithTimeout(ctx, opts.Timeout*4/5)
	defer stopGather()
	done := make(chan result)
	abandoned := make(chan struct{})
	go func() {
		s, err := negotiate(gatherCtx, pc, offer, opts.AddTracks)
		if err != nil {
			_ = pc.Close() // closed before Answer returns the error
		}
		select {
		case done <- result{s, err}:
		case <-abandoned: // Answer gave up: nobody will own pc
			_ = pc.Close()
		}
	}()
	select {
	case r := <-done:
		return r.sdp, r.err
	case <-deadline.C:
		close(abandoned)
		return "", fmt.Errorf("%w: no answer within %v", ErrTimeout, opts.Timeout)
	case <-ctx.Done():
		close(abandoned)
		return "", fmt.Errorf("%w: %w", ErrCancelled, ctx.Err())
	}
}

// negotiate is the pion side of Answer. It waits for candidates until
// gathering completes or ctx ends.
func negotiate(ctx context.Context, pc *webrtc.PeerConnection, offer string, addTracks func() error) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: offer rejected: %w", ErrInvalid, err)
	}
	if addTracks != nil {
		if err := addTracks(); err != nil {
			return "", err
		}
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: cannot answer the offer: %w", ErrInvalid, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", fmt.Errorf("%w: cannot apply the answer: %w", ErrInvalid, err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
	}
	ld := pc.LocalDescription()
	if ld == nil {
		return "", fmt.Errorf("%w: no local description after answering", ErrInvalid)
	}
	return ld.SDP, nil
}

// AcceptedSections counts the answer's audio/video sections that were not
// rejected and in which we receive (WHIP) or send (WHEP) media.
func AcceptedSections(answerSDP string, weReceive bool) int {
	var sd sdp.SessionDescription
	if sd.UnmarshalString(answerSDP) != nil {
		return 0
	}
	n := 0
	for _, md := range sd.MediaDescriptions {
		if (md.MediaName.Media != "audio" && md.MediaName.Media != "video") || md.MediaName.Port.Value == 0 {
			continue
		}
		dir := "sendrecv"
		for _, a := range md.Attributes {
			switch a.Key {
			case "sendonly", "recvonly", "inactive", "sendrecv":
				dir = a.Key
			}
		}
		if (weReceive && (dir == "recvonly" || dir == "sendrecv")) || (!weReceive && (dir == "sendonly" || dir == "sendrecv")) {
			n++
		}
	}
	return n
}
