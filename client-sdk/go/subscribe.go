package client

import (
	"fmt"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"
)

// participantWait is how long a subscribed track waits for its participant's ParticipantInfo before
// OnTrackSubscribed fires without an identity.
const participantWait = 3 * time.Second

// TrackSettings is UpdateTrackSettings for one track. The zero value asks for the track enabled at
// the server's default quality.
type TrackSettings struct {
	Disabled bool
	// Quality picks a simulcast layer (LOW/MEDIUM/HIGH) when Width/Height are zero.
	Quality livekit.VideoQuality
	// Width and Height are the rendered size (adaptive stream); the server picks the layer.
	Width, Height uint32
	FPS           uint32
	Priority      uint32
}

// UpdateSubscription subscribes to or unsubscribes from tracks by sid.
func (r *Room) UpdateSubscription(trackSids []string, subscribe bool) error {
	r.mu.Lock()
	for _, sid := range trackSids {
		if subscribe {
			r.subscribed[sid] = true
			delete(r.unsubscribed, sid)
		} else {
			r.unsubscribed[sid] = true
			delete(r.subscribed, sid)
		}
	}
	r.mu.Unlock()
	return r.sendSignal(&livekit.SignalRequest{Message: &livekit.SignalRequest_Subscription{
		Subscription: &livekit.UpdateSubscription{TrackSids: trackSids, Subscribe: subscribe},
	}})
}

// UpdateTrackSettings sends UpdateTrackSettings for one subscribed track.
func (r *Room) UpdateTrackSettings(trackSid string, s TrackSettings) error {
	r.mu.Lock()
	if s.Disabled {
		r.disabled[trackSid] = true
	} else {
		delete(r.disabled, trackSid)
	}
	r.mu.Unlock()
	return r.sendSignal(&livekit.SignalRequest{Message: &livekit.SignalRequest_TrackSetting{
		TrackSetting: &livekit.UpdateTrackSettings{
			TrackSids: []string{trackSid}, Disabled: s.Disabled, Quality: s.Quality,
			Width: s.Width, Height: s.Height, Fps: s.FPS, Priority: s.Priority,
		},
	}})
}

// RemoteTracks returns the subscribed tracks.
func (r *Room) RemoteTracks() []*RemoteTrack {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*RemoteTrack, 0, len(r.remoteTracks))
	for _, t := range r.remoteTracks {
		out = append(out, t)
	}
	return out
}

func (r *Room) setupSubscriber(sub *transport) {
	sub.pc.OnTrack(func(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		r.onSubscriberTrack(sub, track, recv)
	})
	sub.pc.OnDataChannel(r.onSubscriberDataChannel)
	sub.pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		r.log.Debug("subscriber ice", "state", s)
		// The server restarts subscriber ICE; livekit-client resumes the signal connection to get it.
		if s == webrtc.ICEConnectionStateFailed && r.ctx.Err() == nil {
			select {
			case r.drops <- fmt.Errorf("client: subscriber ice failed"):
			default:
			}
		}
	})
}

func (r *Room) onSubscriberTrack(sub *transport, track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	mid := ""
	for _, tr := range sub.pc.GetTransceivers() {
		if tr.Receiver() == recv {
			mid = tr.Mid()
			break
		}
	}
	psid, tsid := parseTrackIDs(track.StreamID(), track.ID())
	rt := &RemoteTrack{
		room: r, ParticipantSID: psid, Kind: track.Kind(), Track: track, Receiver: recv, Mid: mid,
		payload: payloadKindOf(track.Codec().MimeType), created: time.Now(),
	}
	var replaced *RemoteTrack
	r.mu.Lock()
	if tsid == "" {
		tsid = r.midToTrackID[mid]
	}
	rt.SID = tsid
	if rt.ParticipantSID == "" {
		rt.ParticipantSID = r.participantOfTrackLocked(tsid)
	}
	for sid, old := range r.remoteTracks {
		if old.Mid == mid && sid != tsid { // transceiver reused for another track
			replaced = old
			delete(r.remoteTracks, sid)
		}
	}
	r.remoteTracks[tsid] = rt
	ready := r.bindParticipantLocked(rt)
	if !ready {
		r.pendingSubs = append(r.pendingSubs, rt)
	}
	r.mu.Unlock()
	if replaced != nil {
		r.endTrack(replaced)
	}
	if ready {
		r.fireSubscribed(rt)
	} else {
		time.AfterFunc(participantWait, r.resolvePendingTracks)
	}
}

func (r *Room) participantOfTrackLocked(tsid string) string {
	for sid, p := range r.participants {
		for _, t := range p.GetTracks() {
			if t.GetSid() == tsid {
				return sid
			}
		}
	}
	return ""
}

// bindParticipantLocked fills identity and TrackInfo from the participant map; false if unknown yet.
func (r *Room) bindParticipantLocked(rt *RemoteTrack) bool {
	p, ok := r.participants[rt.ParticipantSID]
	if !ok {
		return false
	}
	rt.ParticipantIdentity = p.GetIdentity()
	for _, t := range p.GetTracks() {
		if t.GetSid() == rt.SID {
			rt.mu.Lock()
			rt.info = proto.Clone(t).(*livekit.TrackInfo)
			rt.mu.Unlock()
		}
	}
	return true
}

// resolvePendingTracks fires OnTrackSubscribed for tracks whose participant became known, or that
// waited long enough.
func (r *Room) resolvePendingTracks() {
	var ready []*RemoteTrack
	r.mu.Lock()
	keep := r.pendingSubs[:0]
	for _, rt := range r.pendingSubs {
		if r.bindParticipantLocked(rt) || time.Since(rt.created) >= participantWait {
			ready = append(ready, rt)
		} else {
			keep = append(keep, rt)
		}
	}
	r.pendingSubs = keep
	r.mu.Unlock()
	for _, rt := range ready {
		r.fireSubscribed(rt)
	}
}

func (r *Room) fireSubscribed(rt *RemoteTrack) {
	if r.ctx.Err() != nil || rt.Ended() {
		return
	}
	if r.opts.AutoDrain {
		r.wg.Add(1)
		go rt.drain()
	}
	if cb := r.opts.Callbacks.OnTrackSubscribed; cb != nil {
		r.events.post(func() { cb(rt) })
	}
}

// dropRemoteTrack ends a subscribed track that was unpublished or unsubscribed.
func (r *Room) dropRemoteTrack(sid string) {
	r.mu.Lock()
	rt, ok := r.remoteTracks[sid]
	if ok {
		delete(r.remoteTracks, sid)
	}
	r.mu.Unlock()
	if ok {
		r.endTrack(rt)
	}
}

// trackEnded is the drain goroutine noticing its track stopped.
func (r *Room) trackEnded(rt *RemoteTrack) {
	r.mu.Lock()
	cur, ok := r.remoteTracks[rt.SID]
	if ok && cur == rt {
		delete(r.remoteTracks, rt.SID)
	}
	r.mu.Unlock()
	if ok && cur == rt {
		r.endTrack(rt)
	}
}

func (r *Room) endTrack(rt *RemoteTrack) {
	if rt.ended.Swap(true) {
		return
	}
	if cb := r.opts.Callbacks.OnTrackUnsubscribed; cb != nil {
		r.events.post(func() { cb(rt) })
	}
}

// reapInactiveTracks ends tracks whose m-line the server's latest offer made inactive
// (unsubscribe or unpublish without a matching participant update).
func (r *Room) reapInactiveTracks(offerSDP string) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offerSDP); err != nil {
		return
	}
	inactive := map[string]bool{}
	for _, m := range sd.MediaDescriptions {
		mid, _ := m.Attribute(sdp.AttrKeyMID)
		_, isInactive := m.Attribute("inactive")
		_, isRecvOnly := m.Attribute("recvonly")
		if isInactive || isRecvOnly {
			inactive[mid] = true
		}
	}
	var gone []*RemoteTrack
	r.mu.Lock()
	for sid, rt := range r.remoteTracks {
		if inactive[rt.Mid] {
			gone = append(gone, rt)
			delete(r.remoteTracks, sid)
		}
	}
	r.mu.Unlock()
	for _, rt := range gone {
		r.endTrack(rt)
	}
}
