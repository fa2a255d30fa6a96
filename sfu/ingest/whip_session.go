package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

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
	offer    offerSummary
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

func newWHIPSession(h *WHIP, t WHIPTarget, pc *webrtc.PeerConnection, offer offerSummary) *whipSession {
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

func (s *whipSession) run() {
	var (
		got      []arrival
		pub      *Publication
		gatherC  <-chan time.Time
		deadline = time.NewTimer(s.h.cfg.MediaTimeout)
	)
	defer deadline.Stop()
	publish := func() {
		var err error
		if pub, err = s.publish(got); err != nil {
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
			switch {
			case pub != nil:
				s.log.Warn("ignoring a track that arrived after publishing", "kind", a.remote.Kind(), "rid", a.remote.RID())
			case slices.ContainsFunc(got, func(g arrival) bool { return g.recv == a.recv }):
				// another simulcast layer of the same section: only the
				// first is carried (WHIP simulcast is not supported).
			default:
				got = append(got, a)
				if len(got) >= s.expected {
					publish()
				} else if gatherC == nil {
					gatherC = time.After(gatherWindow)
				}
			}
		case <-gatherC:
			publish()
		case <-deadline.C:
			if pub == nil && len(got) == 0 {
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

// publish makes the participant appear with the arrived tracks, in the
// offer's section order, and starts forwarding.
func (s *whipSession) publish(got []arrival) (*Publication, error) {
	slices.SortFunc(got, func(a, b arrival) int { return s.sectionIndex(a) - s.sectionIndex(b) })
	tracks := make([]room.ExternalTrack, len(got))
	videos, audios := 0, 0
	for i, a := range got {
		t := room.ExternalTrack{Kind: a.remote.Kind(), Codec: a.remote.Codec()}
		if t.Kind == webrtc.RTPCodecTypeVideo {
			videos++
			t.Name, t.Source = "camera", livekit.TrackSource_CAMERA
			if videos > 1 {
				t.Name, t.Source = "whiteboard", livekit.TrackSource_SCREEN_SHARE
			}
		} else {
			audios++
			t.Name, t.Source = "audio", livekit.TrackSource_MICROPHONE
			if audios > 1 {
				t.Name, t.Source = "whiteboard-audio", livekit.TrackSource_SCREEN_SHARE_AUDIO
			}
		}
		tracks[i] = t
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pub, err := s.h.cfg.Host.PublishTracks(ctx, s.target.Room, s.target.Identity, s.target.Name, tracks)
	if err != nil {
		return nil, err
	}
	for i, a := range got {
		prod := pub.Producers()[i]
		ssrc := uint32(a.remote.SSRC())
		prod.OnKeyframeRequest(func(int) {
			_ = s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
		})
		s.h.sessions.goTracked(func() { s.readRTP(a.remote, prod) })
		s.h.sessions.goTracked(func() { drainRTCP(a.recv) })
		// The encoder's first keyframe may have gone while we gathered.
		_ = s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	}
	if ing := s.h.cfg.Ingresses; ing != nil && s.target.IngressID != "" {
		ing.WHIPState(s.target.IngressID, true, nil)
	}
	s.log.Info("WHIP participant published", "tracks", len(tracks), "of_sections", s.expected)
	return pub, nil
}

func (s *whipSession) sectionIndex(a arrival) int {
	if tr := transceiverOf(s.pc, a.recv); tr != nil {
		for i, m := range s.offer.Media {
			if m.Mid == tr.Mid() {
				return i
			}
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
func (s *whipSession) readRTP(remote *webrtc.TrackRemote, prod track.Producer) {
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
		if err := prod.WriteRTP(0, &pkt); err != nil {
			s.stop("SFU refused packets: " + err.Error())
			return
		}
	}
}

// drainRTCP reads the receiver's RTCP so pion's interceptors (receiver
// reports, NACK generation) see the publisher's sender reports.
func drainRTCP(recv *webrtc.RTPReceiver) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := recv.Read(buf); err != nil {
			return
		}
	}
}
