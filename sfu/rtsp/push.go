package rtsp

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// pushSession is one RTSP publisher (ANNOUNCE/RECORD). Its lifetime is the
// gortsplib session's: OnSessionClose ends it.
type pushSession struct {
	s       *Server
	path    Path
	plan    trackPlan
	session *gortsplib.ServerSession
	log     *slog.Logger

	mu     sync.Mutex
	pub    Publication
	pipes  []*trackPipe
	closed bool

	failOnce sync.Once
}

// start publishes the tracks the publisher set up and hooks their packets.
func (ps *pushSession) start() error {
	setupped := ps.session.SetuppedMedias()
	var tracks []ingestTrack
	for _, t := range ps.plan.tracks {
		if slices.Contains(setupped, t.media) {
			tracks = append(tracks, t)
		}
	}
	if len(tracks) == 0 {
		return fmt.Errorf("%w: no supported media was set up (supported: %s)", ErrNoTracks, SupportedCodecs)
	}
	pub, err := publish(ps.s.cfg.Host, ps.s.cfg.PublishTimeout, ps.path.Room, ps.path.Participant, ps.path.Participant, tracks)
	if err != nil {
		return err
	}
	prods := pub.Producers()
	pipes := make([]*trackPipe, len(tracks))
	for i, t := range tracks {
		pipe := newTrackPipe(prods[i], t, time.Now)
		pipes[i] = pipe
		medi := t.media
		ps.session.OnPacketRTP(medi, t.format, func(pkt *rtp.Packet) {
			pipe.inSSRC.Store(pkt.SSRC)
			if err := pipe.write(pkt); err != nil {
				ps.fail(err)
			}
		})
		// RTSP has no standard keyframe request. An RTCP PLI to the
		// publisher costs nothing and GStreamer's rtpbin honours it; ffmpeg
		// ignores it, so its GOP length (-g) bounds a new subscriber's wait.
		prods[i].OnKeyframeRequest(func(int) {
			if ssrc := pipe.inSSRC.Load(); ssrc != 0 {
				_ = ps.session.WritePacketRTCP(medi, &rtcp.PictureLossIndication{MediaSSRC: ssrc})
			}
		})
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closed { // the session ended while Host.Publish ran
		pub.Close()
		return fmt.Errorf("%w: session ended", ErrClosed)
	}
	ps.pub, ps.pipes = pub, pipes
	ps.log.Info("publisher started", "tracks", len(tracks), "transport", transportName(ps.session))
	return nil
}

// publish calls Host.Publish with a timeout and checks its answer.
func publish(h Host, timeout time.Duration, room, identity, name string, tracks []ingestTrack) (Publication, error) {
	specs := make([]TrackSpec, len(tracks))
	for i, t := range tracks {
		specs[i] = t.spec
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	pub, err := h.Publish(ctx, room, identity, name, specs)
	if err != nil {
		return nil, fmt.Errorf("publish %s/%s: %w", room, identity, err)
	}
	if got := len(pub.Producers()); got != len(specs) {
		pub.Close()
		return nil, fmt.Errorf("publish %s/%s: host returned %d producers for %d tracks", room, identity, got, len(specs))
	}
	return pub, nil
}

// fail ends the session when the SFU refuses packets (track closed, room
// gone): the publisher sees its connection close and can retry.
func (ps *pushSession) fail(err error) {
	ps.failOnce.Do(func() {
		ps.log.Warn("stopping publisher: SFU refused packets", "error", err)
		ps.session.Close()
	})
}

// close unpublishes; idempotent.
func (ps *pushSession) close() {
	ps.mu.Lock()
	pub := ps.pub
	ps.pub, ps.closed = nil, true
	ps.mu.Unlock()
	if pub != nil {
		pub.Close()
	}
}

func transportName(ss *gortsplib.ServerSession) string {
	if t := ss.SetuppedTransport(); t != nil {
		return t.String()
	}
	return "unknown"
}

// adoptPublisher registers ps for its path. A newer publisher replaces an
// older one: an encoder that reconnects after a network drop must not wait
// for its dead session to time out.
func (s *Server) adoptPublisher(ps *pushSession) {
	s.mu.Lock()
	old := s.publishers[ps.path.key()]
	s.publishers[ps.path.key()] = ps
	s.mu.Unlock()
	s.metrics.publishers.Inc()
	if old != nil && old != ps {
		old.log.Info("replaced by a new publisher")
		old.session.Close()
	}
}

func (s *Server) dropPublisher(ps *pushSession, reason error) {
	s.mu.Lock()
	registered := s.publishers[ps.path.key()] == ps
	if registered {
		delete(s.publishers, ps.path.key())
	}
	s.mu.Unlock()
	ps.mu.Lock()
	started := ps.pub != nil
	ps.mu.Unlock()
	if started {
		s.metrics.publishers.Dec()
		ps.log.Info("publisher closed", "reason", reason, "packets", ps.packets(),
			"keyframes_given_sps_pps", ps.injected())
	}
	ps.close()
}

func (ps *pushSession) packets() (n uint64) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, p := range ps.pipes {
		n += p.packets.Load()
	}
	return n
}

// injected counts keyframes the publisher sent without in-band SPS/PPS.
func (ps *pushSession) injected() (n uint64) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, p := range ps.pipes {
		if p.h264 != nil {
			n += p.h264.injected.Load()
		}
	}
	return n
}
