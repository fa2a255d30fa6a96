package room

import (
	"fmt"

	"github.com/livekit/protocol/livekit"

	"github.com/classcast/classcast/sfu/allocator"
	"github.com/classcast/classcast/sfu/forward"
)

// subscribe adds a down track of pub's track sid and renegotiates. Called on
// the room loop.
func (p *Participant) subscribe(pub *Participant, sid string, explicit bool) {
	if p.external {
		return
	}
	up, _, ok := pub.publishedUp(sid)
	if !ok {
		if explicit {
			p.sendSubscriptionError(sid, livekit.SubscriptionError_SE_TRACK_NOTFOUND)
		}
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	if _, dup := p.subscriptions[sid]; dup {
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	sub, err := p.sub.addTrack(up, pub.sid)
	if err != nil {
		p.log.Warn("subscribe failed", "track", sid, "err", err)
		p.sendSubscriptionError(sid, livekit.SubscriptionError_SE_CODEC_UNSUPPORTED)
		return
	}
	pub.mu.Lock()
	sub.pt = pub.tracks[sid]
	sub.publisherRole = pub.info.Attributes["classcast.role"]
	pub.mu.Unlock()
	p.mu.Lock()
	p.subscriptions[sid] = sub
	p.mu.Unlock()
	p.sub.negotiate(false)
	p.kickBandwidth()
}

// unsubscribe removes a down track if present. Called on the room loop.
func (p *Participant) unsubscribe(sid string) {
	p.mu.Lock()
	sub, ok := p.subscriptions[sid]
	delete(p.subscriptions, sid)
	p.mu.Unlock()
	if ok && !p.external {
		sub.close()
		if sub.pt != nil {
			sub.pt.removeNeed(p.sid)
		}
		p.sub.negotiate(false)
	}
}

func (p *Participant) sendSubscriptionError(sid string, e livekit.SubscriptionError) {
	p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_SubscriptionResponse{
		SubscriptionResponse: &livekit.SubscriptionResponse{TrackSid: sid, Err: e},
	}})
}

// UpdateSubscription handles the client's explicit subscribe/unsubscribe.
func (r *Room) UpdateSubscription(p *Participant, req *livekit.UpdateSubscription) error {
	sids := append([]string(nil), req.TrackSids...)
	for _, pt := range req.ParticipantTracks {
		sids = append(sids, pt.TrackSids...)
	}
	if req.Subscribe && !p.Grants().GetCanSubscribe() {
		for _, sid := range sids {
			p.sendSubscriptionError(sid, livekit.SubscriptionError_SE_UNKNOWN)
		}
		return fmt.Errorf("%w: token does not allow subscribing", ErrNotAllowed)
	}
	return r.do(func() {
		for _, sid := range sids {
			if !req.Subscribe {
				if p.optedOut == nil {
					p.optedOut = map[string]bool{}
				}
				p.optedOut[sid] = true
				p.unsubscribe(sid)
				continue
			}
			delete(p.optedOut, sid)
			pub, ok := r.findTrackLocked(sid)
			if !ok || pub == p {
				p.sendSubscriptionError(sid, livekit.SubscriptionError_SE_TRACK_NOTFOUND)
				continue
			}
			if _, info, _ := pub.publishedUp(sid); info != nil && !r.hooks.MaySubscribe(p, pub, info) {
				// The track exists but this participant may not see it.
				p.sendSubscriptionError(sid, livekit.SubscriptionError_SE_TRACK_NOTFOUND)
				continue
			}
			p.subscribe(pub, sid, true)
		}
	})
}

// UpdateTrackSettings applies a subscriber's wishes for its down tracks:
// disabled pauses, width/height or quality choose the simulcast layer.
func (p *Participant) UpdateTrackSettings(req *livekit.UpdateTrackSettings) {
	for _, sid := range req.TrackSids {
		p.mu.Lock()
		sub, ok := p.subscriptions[sid]
		p.mu.Unlock()
		if !ok {
			continue
		}
		dt := sub.down()
		dt.SetPaused(forward.PauseSubscriberDisabled, req.Disabled)
		// The allocator turns the wish into a layer, within the bandwidth.
		r := allocator.Request{Disabled: req.Disabled, Width: int(req.Width), Height: int(req.Height), FPS: int(req.Fps)}
		if req.Width == 0 && req.Height == 0 {
			r.MaxSpatial, r.HasMaxSpatial = qualityIndex(req.Quality), true
		}
		sub.mu.Lock()
		sub.request, sub.priority = r, int(req.GetPriority())
		sub.mu.Unlock()
	}
	p.kickBandwidth()
}

func qualityIndex(q livekit.VideoQuality) int {
	switch q {
	case livekit.VideoQuality_LOW, livekit.VideoQuality_OFF:
		return 0
	case livekit.VideoQuality_MEDIUM:
		return 1
	default:
		return 2
	}
}

func (p *Participant) kickBandwidth() {
	if p.bw != nil {
		p.bw.kick()
	}
}

// layerForSize picks the smallest announced layer that covers the rendered
// size, as LiveKit does for adaptive stream.
func layerForSize(layers []*livekit.VideoLayer, n int, w, h uint32) int {
	if len(layers) == 0 || n <= 1 {
		return n - 1
	}
	sorted := make([]*livekit.VideoLayer, len(layers))
	copy(sorted, layers)
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j].Width*sorted[j].Height < sorted[j-1].Width*sorted[j-1].Height; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	for i, l := range sorted {
		if i >= n {
			break
		}
		if l.Width >= w && l.Height >= h {
			return i
		}
	}
	if len(sorted) < n {
		return len(sorted) - 1
	}
	return n - 1
}

// Subscriptions lists the track sids the participant is subscribed to.
func (p *Participant) Subscriptions() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.subscriptions))
	for sid := range p.subscriptions {
		out = append(out, sid)
	}
	return out
}

// DownTrack returns the down track of a subscribed track (for tests, metrics).
func (p *Participant) DownTrack(sid string) (*forward.DownTrack, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sub, ok := p.subscriptions[sid]
	if !ok {
		return nil, false
	}
	return sub.down(), true
}
