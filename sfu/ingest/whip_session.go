package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/sfu/ingest/sdpoffer"
	"github.com/classcast/classcast/sfu/room"
	"github.com/classcast/classcast/sfu/track"
)

// gatherWindow is how long a WHIP session waits for the rest of its tracks
// after the first arrived before publishing what it has (an audio section
// whose encoder never starts must not hold the video back).
const gatherWindow = 2 * time.Second

// whipSession is one WHIP publisher: a publisher peer connection whose
// remote tracks feed an ingest participant's producers. Its run() loop owns
// the publication; stop() may be called from anywhere.
type whipSession struct {
	h        *WHIP
	id       string
	target   WHIPTarget
	pc       *webrtc.PeerConnection
	offer    sdpoffer.Summary
	expected int // audio/video sections accepted in the answer
	log      *slog.Logger

	arrivals chan arrival
	done     chan struct{}
	stopOnce sync.Once
	reason   string // set before done closes
}

type arrival struct {
	remote *webrtc.TrackRemote
	recv   *webrtc.RTPReceiver
}

func newWHIPSession(h *WHIP, t WHIPTarget, pc *webrtc.PeerConnection, offer sdpoffer.Summary) *whipSession {
	s := &whipSession{h: h, id: newID("WH_"), target: t, pc: pc, offer: offer,
		arrivals: make(chan arrival, 16), done: make(chan struct{})}
	s.log = h.log.With("session", s.id, "room", t.Room, "identity", t.Identity)
	pc.OnTrack(func(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		select {
		case s.arrivals <- arrival{remote, recv}:
		case <-s.done:
		}
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateFailed:
			s.stop("ICE/DTLS failed")
		case webrtc.PeerConnectionStateClosed:
			s.stop("connection closed")
		}
	})
	return s
}

// begin starts the session's loop (after it was registered).
func (s *whipSession) begin() {
	s.log.Info("WHIP session started", "sections", s.expected)
	s.h.sessions.goTracked(s.run)
}

func (s *whipSession) stop(reason string) {
	s.stopOnce.Do(func() {
		s.reason = reason
		close(s.done)
	})
}

// whipTrack is one offered section's media: one published track, fed by
// one remote stream per simulcast layer. Only run() touches remotes and
// prod; ssrcs is read by keyframe requests from the room.
type whipTrack struct {
	recv    *webrtc.RTPReceiver
	mid     string
	layers  []sdpoffer.Layer // lowest quality first; nil: a single stream
	remotes [maxWHIPLayers]*webrtc.TrackRemote
	prod    track.Producer
	ssrcs   [maxWHIPLayers]atomic.Uint32
}

// maxWHIPLayers is how many simulcast layers a WHIP track may have
// (sdpoffer refuses offers with more).
const maxWHIPLayers = 3

// layerOf maps a remote stream's rid to the track's layer index.
func (t *whipTrack) layerOf(rid string) (int, bool) {
	if len(t.layers) < 2 {
		return 0, true
	}
	for i, l := range t.layers {
		if l.RID == rid {
			return i, i < maxWHIPLayers
		}
	}
	return 0, false
}

func (s *whipSession) run() {
	var (
		tracks   []*whipTrack
		pub      *Publication
		gatherC  <-chan time.Time
		deadline = time.NewTimer(s.h.cfg.MediaTimeout)
	)
	defer deadline.Stop()
	publish := func() {
		var err error
		if pub, err = s.publish(tracks); err != nil {
			s.log.Warn("WHIP publish failed", "error", err)
			s.stop("publish failed: " + err.Error())
		}
		gatherC = nil
	}
loop:
	for {
		select {
		case <-s.done:
			break loop
		case a := <-s.arrivals:
			i := slices.IndexFunc(tracks, func(t *whipTrack) bool { return t.recv == a.recv })
			if i < 0 && pub != nil {
				s.log.Warn("ignoring a track that arrived after publishing", "kind", a.remote.Kind(), "rid", a.remote.RID())
				continue
			}
			if i < 0 {
				tracks = append(tracks, s.newTrack(a.recv))
				i = len(tracks) - 1
			}
			t := tracks[i]
			layer, ok := t.layerOf(a.remote.RID())
			if !ok || t.remotes[layer] != nil {
				s.log.Warn("ignoring a stream the offer did not announce", "mid", t.mid, "rid", a.remote.RID())
				continue
			}
			t.remotes[layer] = a.remote
			switch {
			case pub != nil:
				// A later simulcast layer of a published track (encoders
				// start their layers one by one).
				s.forward(t, layer)
			case len(tracks) >= s.expected:
				publish()
			case gatherC == nil:
				gatherC = time.After(gatherWindow)
			}
		case <-gatherC:
			publish()
		case <-deadline.C:
			if pub == nil && len(tracks) == 0 {
				s.stop(fmt.Sprintf("no media within %v", s.h.cfg.MediaTimeout))
			}
		}
	}
	_ = s.pc.Close() // ends the readers
	if pub != nil {
		pub.Close()
	}
	s.h.sessions.remove(s.id)
	if ing := s.h.cfg.Ingresses; ing != nil && s.target.IngressID != "" {
		ing.WHIPState(s.target.IngressID, false, errors.New(s.reason))
	}
	s.log.Info("WHIP session closed", "reason", s.reason)
}

// newTrack starts the track of the section recv belongs to, with the
// simulcast layers its offer announced.
func (s *whipSession) newTrack(recv *webrtc.RTPReceiver) *whipTrack {
	t := &whipTrack{recv: recv}
	if tr := transceiverOf(s.pc, recv); tr != nil {
		t.mid = tr.Mid()
	}
	for _, m := range s.offer.Media {
		if m.Mid == t.mid && t.mid != "" {
			t.layers = m.Layers
		}
	}
	return t
}

// publish makes the participant appear with the arrived tracks, in the
// offer's section order, and starts forwarding.
func (s *whipSession) publish(tracks []*whipTrack) (*Publication, error) {
	slices.SortFunc(tracks, func(a, b *whipTrack) int { return s.sectionIndex(a.mid) - s.sectionIndex(b.mid) })
	specs := make([]room.ExternalTrack, len(tracks))
	videos, audios := 0, 0
	for i, t := range tracks {
		remote := t.firstRemote()
		spec := room.ExternalTrack{Kind: remote.Kind(), Codec: remote.Codec()}
		if spec.Kind == webrtc.RTPCodecTypeVideo {
			videos++
			spec.Name, spec.Source = "camera", livekit.TrackSource_CAMERA
			if videos > 1 {
				spec.Name, spec.Source = "whiteboard", livekit.TrackSource_SCREEN_SHARE
			}
			spec.Layers = sdpoffer.VideoLayers(t.layers)
			if n := len(t.layers); n > 0 {
				spec.Width, spec.Height = t.layers[n-1].Width, t.layers[n-1].Height
			}
		} else {
			audios++
			spec.Name, spec.Source = "audio", livekit.TrackSource_MICROPHONE
			if audios > 1 {
				spec.Name, spec.Source = "whiteboard-audio", livekit.TrackSource_SCREEN_SHARE_AUDIO
			}
		}
		specs[i] = spec
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pub, err := s.h.cfg.Host.PublishTracks(ctx, s.target.Room, s.target.Identity, s.target.Name, specs)
	if err != nil {
		return nil, err
	}
	for i, t := range tracks {
		t.prod = pub.Producers()[i]
		t.prod.OnKeyframeRequest(func(layer int) {
			if layer >= 0 && layer < maxWHIPLayers {
				s.requestKeyframe(t.ssrcs[layer].Load())
			}
		})
		for layer, remote := range t.remotes {
			if remote != nil {
				s.forward(t, layer)
			}
		}
	}
	if ing := s.h.cfg.Ingresses; ing != nil && s.target.IngressID != "" {
		ing.WHIPState(s.target.IngressID, true, nil)
	}
	s.log.Info("WHIP participant published", "tracks", len(specs), "of_sections", s.expected)
	return pub, nil
}

// forward starts carrying one layer of a published track.
func (s *whipSession) forward(t *whipTrack, layer int) {
	remote, prod := t.remotes[layer], t.prod
	ssrc := uint32(remote.SSRC())
	t.ssrcs[layer].Store(ssrc)
	s.h.sessions.goTracked(func() { s.readRTP(remote, prod, layer) })
	s.h.sessions.goTracked(func() { drainRTCP(t.recv, remote.RID()) })
	// The encoder's first keyframe may have gone while we gathered.
	s.requestKeyframe(ssrc)
	if len(t.layers) > 1 {
		s.log.Info("WHIP simulcast layer forwarded", "mid", t.mid, "rid", remote.RID(), "layer", layer)
	}
}

func (s *whipSession) requestKeyframe(ssrc uint32) {
	if ssrc != 0 {
		_ = s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	}
}

// firstRemote is a remote stream of the track (every track has one: it was
// made for an arrival).
func (t *whipTrack) firstRemote() *webrtc.TrackRemote {
	for _, r := range t.remotes {
		if r != nil {
			return r
		}
	}
	return nil
}

func (s *whipSession) sectionIndex(mid string) int {
	for i, m := range s.offer.Media {
		if mid != "" && m.Mid == mid {
			return i
		}
	}
	return len(s.offer.Media)
}

func transceiverOf(pc *webrtc.PeerConnection, recv *webrtc.RTPReceiver) *webrtc.RTPTransceiver {
	for _, tr := range pc.GetTransceivers() {
		if tr.Receiver() == recv {
			return tr
		}
	}
	return nil
}

// readRTP forwards one remote track into its producer: one buffer and one
// packet reused for the session's life, nothing allocated per packet.
func (s *whipSession) readRTP(remote *webrtc.TrackRemote, prod track.Producer, layer int) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		if err := prod.WriteRTP(layer, &pkt); err != nil {
			s.stop("SFU refused packets: " + err.Error())
			return
		}
	}
}

// drainRTCP reads the RTCP of one stream of the receiver (rid "" for a
// single stream) so pion's interceptors (receiver reports, NACK
// generation) see the publisher's sender reports.
func drainRTCP(recv *webrtc.RTPReceiver, rid string) {
	buf := make([]byte, 1500)
	for {
		var err error
		if rid == "" {
			_, _, err = recv.Read(buf)
		} else {
			_, _, err = recv.ReadSimulcast(buf, rid)
		}
		if err != nil {
			return
		}
	}
}
