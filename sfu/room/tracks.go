package room

import (
	"fmt"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/utils/guid"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/classcast/classcast/sfu/allocator"
	"github.com/classcast/classcast/sfu/forward"
	"github.com/classcast/classcast/sfu/rtc"
	"github.com/classcast/classcast/sfu/track"
)

// maxPendingTracks bounds AddTrackRequests waiting for media, so a client
// cannot grow server state without sending anything.
const maxPendingTracks = 16

type pendingTrack struct {
	cid  string
	info *livekit.TrackInfo
}

// publishedTrack is a track whose media is arriving.
type publishedTrack struct {
	p   *Participant
	cid string
	up  *forward.UpTrack
	// info and announced are guarded by p.mu.
	info      *livekit.TrackInfo
	announced bool

	mu    sync.Mutex
	ssrcs [forward.MaxLayers]uint32
	live  int // layer readers running
	// onKeyframe replaces PLIs for tracks fed by an external producer.
	onKeyframe func(layer int)
	// dyn is the union of layers consumers need (dynacast), video only.
	dyn *allocator.Dynacast
}

// setNeed records the highest layer a consumer needs (-1: none).
func (t *publishedTrack) setNeed(consumer string, layer int) {
	t.mu.Lock()
	if t.dyn != nil {
		t.dyn.SetNeed(consumer, layer)
	}
	t.mu.Unlock()
}

func (t *publishedTrack) removeNeed(consumer string) {
	t.mu.Lock()
	if t.dyn != nil {
		t.dyn.Remove(consumer)
	}
	t.mu.Unlock()
}

// updateDynacast tells the publisher which simulcast layers anyone needs, so
// layers nobody receives are not encoded. Run from the participant's loop.
func (p *Participant) updateDynacast(now time.Time) {
	p.mu.Lock()
	tracks := make([]*publishedTrack, 0, len(p.tracks))
	for _, t := range p.tracks {
		if t.dyn != nil && t.announced {
			tracks = append(tracks, t)
		}
	}
	p.mu.Unlock()
	for _, t := range tracks {
		t.mu.Lock()
		if t.up.Attached() > 0 {
			// Recorder, RTSP output, cascade links take the top layer.
			t.dyn.SetNeed("attached", t.up.Layers()-1)
		} else {
			t.dyn.Remove("attached")
		}
		q, changed, _ := t.dyn.Update(now)
		t.mu.Unlock()
		if changed {
			p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_SubscribedQualityUpdate{
				SubscribedQualityUpdate: allocator.QualityUpdate(t.info.Sid, t.up.Info().Codec.MimeType, q),
			}})
		}
	}
}

func (t *publishedTrack) setSSRC(layer int, ssrc uint32) {
	t.mu.Lock()
	t.ssrcs[layer] = ssrc
	t.live++
	t.mu.Unlock()
}

// layerEnded records a reader's end and reports whether it was the last.
func (t *publishedTrack) layerEnded() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.live--
	return t.live == 0
}

func (t *publishedTrack) requestKeyframe(layer int) {
	t.mu.Lock()
	ssrc, f := t.ssrcs[layer], t.onKeyframe
	t.mu.Unlock()
	switch {
	case f != nil:
		f(layer)
	case ssrc != 0 && t.p.pub != nil:
		t.p.pub.requestKeyframe(ssrc)
	}
}

// AddTrack handles the client's announcement of a track it will publish.
func (p *Participant) AddTrack(req *livekit.AddTrackRequest) error {
	refuse := func(reason livekit.RequestResponse_Reason, msg string) error {
		p.sendRequestError(reason, msg, func(rr *livekit.RequestResponse) {
			rr.Request = &livekit.RequestResponse_AddTrack{AddTrack: req}
		})
		return fmt.Errorf("%w: %s", ErrNotAllowed, msg)
	}
	if req.Cid == "" {
		return refuse(livekit.RequestResponse_INVALID_REQUEST, "add_track without cid")
	}
	if req.Type != livekit.TrackType_AUDIO && req.Type != livekit.TrackType_VIDEO {
		return refuse(livekit.RequestResponse_UNSUPPORTED_TYPE, "only audio and video tracks can be published")
	}
	p.mu.Lock()
	grants := p.grants
	if !grants.GetCanPublish() || !grants.GetCanPublishSource(req.Source) {
		p.mu.Unlock()
		return refuse(livekit.RequestResponse_NOT_ALLOWED,
			fmt.Sprintf("token does not allow publishing %s", req.Source.String()))
	}
	if pt, ok := p.pending[req.Cid]; ok {
		info := proto.Clone(pt.info).(*livekit.TrackInfo)
		p.mu.Unlock()
		p.sendTrackPublished(req.Cid, info)
		return nil
	}
	if len(p.pending) >= maxPendingTracks {
		p.mu.Unlock()
		return refuse(livekit.RequestResponse_LIMIT_EXCEEDED, "too many tracks waiting for media")
	}
	info := &livekit.TrackInfo{
		Sid:           guid.New(guid.TrackPrefix),
		Type:          req.Type,
		Name:          req.Name,
		Source:        req.Source,
		Muted:         req.Muted,
		Width:         req.Width,
		Height:        req.Height,
		Simulcast:     len(req.Layers) > 1,
		Layers:        req.Layers,
		DisableDtx:    req.DisableDtx,
		Stereo:        req.Stereo,
		Stream:        req.Stream,
		Encryption:    req.Encryption,
		AudioFeatures: req.AudioFeatures,
	}
	p.pending[req.Cid] = &pendingTrack{cid: req.Cid, info: info}
	out := proto.Clone(info).(*livekit.TrackInfo)
	p.mu.Unlock()
	p.sendTrackPublished(req.Cid, out)
	return nil
}

func (p *Participant) sendTrackPublished(cid string, info *livekit.TrackInfo) {
	p.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackPublished{
		TrackPublished: &livekit.TrackPublishedResponse{Cid: cid, Track: info},
	}})
}

// bindRemote finds (or creates) the published track an arriving stream
// belongs to: by client track id, else by the first pending track of the
// same kind. It returns the layer index of the stream.
func (p *Participant) bindRemote(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) (*publishedTrack, int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, 0, false
	}
	cid := remote.ID()
	for _, t := range p.tracks {
		if t.cid == cid && t.up.Info().Kind == remote.Kind() {
			return t, ridToLayer(remote.RID(), t.up.Layers()), false
		}
	}
	pt, ok := p.pending[cid]
	if !ok {
		wantType := livekit.TrackType_AUDIO
		if remote.Kind() == webrtc.RTPCodecTypeVideo {
			wantType = livekit.TrackType_VIDEO
		}
		for _, c := range p.pending {
			if c.info.Type == wantType {
				pt = c
				break
			}
		}
	}
	if pt == nil {
		return nil, 0, false
	}
	delete(p.pending, pt.cid)
	layers := 1
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		if n := len(recv.Tracks()); n > 1 {
			layers = n
		}
	}
	codec := remote.Codec()
	info := pt.info
	info.MimeType = codec.MimeType
	info.Simulcast = layers > 1
	info.Codecs = []*livekit.SimulcastCodecInfo{{MimeType: codec.MimeType, Cid: pt.cid, Layers: info.Layers}}
	t := &publishedTrack{p: p, cid: pt.cid, info: info}
	t.up = forward.NewUpTrack(forward.UpTrackConfig{
		Info: track.Info{
			SID: info.Sid, Name: info.Name, ParticipantSID: p.sid, ParticipantIdentity: p.identity,
			Kind: remote.Kind(), Source: info.Source, Codec: codec, Simulcast: layers > 1, Layers: info.Layers,
		},
		Layers:          layers,
		RequestKeyframe: t.requestKeyframe,
		AudioLevelExtID: audioLevelExtID(recv),
		Metrics:         p.room.cfg.Metrics,
		Logger:          p.log.With("track", info.Sid),
	})
	t.up.SetMuted(info.Muted)
	if remote.Kind() == webrtc.RTPCodecTypeVideo && layers > 1 {
		t.dyn = allocator.NewDynacast(allocator.DynacastConfig{})
	}
	p.tracks[info.Sid] = t
	return t, ridToLayer(remote.RID(), layers), true
}

// ridToLayer maps LiveKit's rids (q, h, f: low to high) to layer indexes.
func ridToLayer(rid string, layers int) int {
	l := 0
	switch rid {
	case "h":
		l = 1
	case "f":
		l = 2
	}
	if l >= layers {
		l = layers - 1
	}
	return l
}

// SetTrackMuted handles the client's mute/unmute of its own track.
func (p *Participant) SetTrackMuted(sid string, muted bool) error {
	p.mu.Lock()
	t, ok := p.tracks[sid]
	if !ok {
		for _, pt := range p.pending {
			if pt.info.Sid == sid {
				pt.info.Muted = muted
				p.mu.Unlock()
				return nil
			}
		}
		p.mu.Unlock()
		return fmt.Errorf("%w: track %s", ErrNotFound, sid)
	}
	changed := t.info.Muted != muted
	t.info.Muted = muted
	if changed {
		p.touchLocked()
	}
	p.mu.Unlock()
	t.up.SetMuted(muted)
	if changed {
		p.room.participantChanged(p)
	}
	return nil
}

// publishedUp returns the forwarding track of a published track sid.
func (p *Participant) publishedUp(sid string) (*forward.UpTrack, *livekit.TrackInfo, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.tracks[sid]
	if !ok || !t.announced {
		return nil, nil, false
	}
	return t.up, proto.Clone(t.info).(*livekit.TrackInfo), true
}

// removeTrack forgets a published track; returns whether it existed.
func (p *Participant) removeTrack(sid string) bool {
	p.mu.Lock()
	t, ok := p.tracks[sid]
	if ok {
		delete(p.tracks, sid)
		p.touchLocked()
	}
	p.mu.Unlock()
	if ok {
		t.up.Close()
	}
	return ok
}

// announce marks a track visible to others.
func (p *Participant) announce(sid string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.tracks[sid]
	if !ok || t.announced {
		return false
	}
	t.announced = true
	p.touchLocked()
	return true
}

func supportedMimes() []string                        { return rtc.SupportedMimeTypes() }
func supportedCodecList() []webrtc.RTPCodecParameters { return rtc.SupportedCodecs() }
