package room

import (
	"fmt"
	"sync"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/utils/guid"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/sfu/forward"
	"github.com/classcast/classcast/sfu/track"
)

// ExternalTrack describes a track fed by something other than a WebRTC
// publisher: an RTSP camera, an RTSP encoder, a cascade parent.
type ExternalTrack struct {
	Name   string
	Kind   webrtc.RTPCodecType
	Source livekit.TrackSource
	Codec  webrtc.RTPCodecParameters
	// Layers lists simulcast layers (nil or one entry: a single stream).
	Layers []*livekit.VideoLayer
	Width  uint32
	Height uint32
}

// ExternalPublication is a participant whose tracks are written by a
// producer in this process.
type ExternalPublication struct {
	room      *Room
	p         *Participant
	producers []track.Producer
}

// Producers returns one producer per track, in the order given.
func (e *ExternalPublication) Producers() []track.Producer { return e.producers }

// Participant is the room participant the publication appears as.
func (e *ExternalPublication) Participant() *Participant { return e.p }

// Close unpublishes everything and removes the participant.
func (e *ExternalPublication) Close() {
	e.room.Remove(e.p.identity, e.p.sid, "ingest ended")
}

// PublishExternal makes an ingest participant appear with the given tracks.
// An existing participant with the same identity is replaced.
func (r *Room) PublishExternal(identity, name string, kind livekit.ParticipantInfo_Kind, tracks []ExternalTrack) (*ExternalPublication, error) {
	if len(tracks) == 0 {
		return nil, fmt.Errorf("%w: no tracks to publish", ErrBadRequest)
	}
	var (
		pub *ExternalPublication
		err error
	)
	if e := r.do(func() { pub, err = r.publishExternalLocked(identity, name, kind, tracks) }); e != nil {
		return nil, e
	}
	return pub, err
}

func (r *Room) publishExternalLocked(identity, name string, kind livekit.ParticipantInfo_Kind, tracks []ExternalTrack) (*ExternalPublication, error) {
	if old, ok := r.participants[identity]; ok {
		r.removeLocked(old, "replaced by a new ingest with the same identity")
	}
	g := &auth.VideoGrant{RoomJoin: true, Room: r.name}
	g.SetCanPublish(true)
	g.SetCanSubscribe(false)
	g.SetCanPublishData(false)
	p := newExternalParticipant(r, identity, name, kind, g)
	pub := &ExternalPublication{room: r, p: p}
	for _, spec := range tracks {
		t := p.addExternalTrack(spec)
		pub.producers = append(pub.producers, &producer{t: t})
	}
	r.participants[identity] = p
	r.everJoined = true
	r.broadcastLocked(p)
	for _, t := range p.tracks {
		r.trackAnnouncedLocked(p, t)
	}
	r.hooks.Joined(r, p)
	p.log.Info("ingest participant published", "tracks", len(tracks))
	return pub, nil
}

func newExternalParticipant(r *Room, identity, name string, kind livekit.ParticipantInfo_Kind, g *auth.VideoGrant) *Participant {
	sid := guid.New(guid.ParticipantPrefix)
	p := &Participant{
		room: r, sid: sid, identity: identity, external: true,
		log:    r.log.With("participant", identity, "psid", sid, "ingest", true),
		grants: g, tracks: map[string]*publishedTrack{}, pending: map[string]*pendingTrack{},
		subscriptions: map[string]*subscription{}, dataSeq: map[string]uint32{},
	}
	p.joinedAt = timeNow()
	p.info = &livekit.ParticipantInfo{
		Sid: sid, Identity: identity, Name: name, State: livekit.ParticipantInfo_ACTIVE,
		JoinedAt: p.joinedAt.Unix(), JoinedAtMs: p.joinedAt.UnixMilli(), Version: 1,
		Permission: g.ToPermission(), Kind: kind,
	}
	return p
}

func (p *Participant) addExternalTrack(spec ExternalTrack) *publishedTrack {
	typ := livekit.TrackType_AUDIO
	if spec.Kind == webrtc.RTPCodecTypeVideo {
		typ = livekit.TrackType_VIDEO
	}
	layers := len(spec.Layers)
	if layers < 1 {
		layers = 1
	}
	info := &livekit.TrackInfo{
		Sid: guid.New(guid.TrackPrefix), Type: typ, Name: spec.Name, Source: spec.Source,
		MimeType: spec.Codec.MimeType, Width: spec.Width, Height: spec.Height,
		Simulcast: layers > 1, Layers: spec.Layers,
		Codecs: []*livekit.SimulcastCodecInfo{{MimeType: spec.Codec.MimeType, Layers: spec.Layers}},
	}
	t := &publishedTrack{p: p, info: info, announced: true, live: layers}
	t.up = forward.NewUpTrack(forward.UpTrackConfig{
		Info: track.Info{
			SID: info.Sid, Name: info.Name, ParticipantSID: p.sid, ParticipantIdentity: p.identity,
			Kind: spec.Kind, Source: spec.Source, Codec: spec.Codec, Simulcast: layers > 1, Layers: spec.Layers,
		},
		Layers: layers, RequestKeyframe: t.requestKeyframe,
		Metrics: p.room.cfg.Metrics, Logger: p.log.With("track", info.Sid),
	})
	p.tracks[info.Sid] = t
	return t
}

// producer feeds an external track; implements track.Producer.
type producer struct {
	t   *publishedTrack
	mu  sync.Mutex
	buf [1500]byte
}

// WriteRTP implements track.Producer.
func (pr *producer) WriteRTP(layer int, p *rtp.Packet) error {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	n, err := p.MarshalTo(pr.buf[:])
	if err != nil {
		return fmt.Errorf("%w: packet: %w", ErrBadRequest, err)
	}
	pr.t.up.WriteRTP(layer, pr.buf[:n], p)
	return nil
}

// OnKeyframeRequest implements track.Producer.
func (pr *producer) OnKeyframeRequest(f func(layer int)) {
	pr.t.mu.Lock()
	pr.t.onKeyframe = f
	pr.t.mu.Unlock()
}

// Close implements track.Producer: the track is unpublished.
func (pr *producer) Close() {
	pr.t.p.room.trackEnded(pr.t.p, pr.t.info.Sid)
}

// Published returns the visible tracks of a participant, for consumers such
// as the RTSP output.
func (r *Room) Published(identity string) ([]track.Published, error) {
	var out []track.Published
	found := false
	if err := r.do(func() {
		p, ok := r.participants[identity]
		if !ok {
			return
		}
		found = true
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, t := range p.tracks {
			if t.announced {
				out = append(out, t.up)
			}
		}
	}); err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: participant %s in room %s", ErrNotFound, identity, r.name)
	}
	return out, nil
}
