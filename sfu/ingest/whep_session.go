package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/sfu/track"
)

// whepSession is one WHEP viewer: a subscriber peer connection sending the
// participant's tracks, each fed by an attachment. Its run() loop ends the
// session when the participant leaves or changes tracks (WHEP has no
// renegotiation), when ICE fails, or on DELETE.
type whepSession struct {
	h        *WHEP
	id       string
	room     string
	identity string
	pc       *webrtc.PeerConnection
	log      *slog.Logger

	outs []*whepOut // fixed after attach

	connected chan struct{}
	connOnce  sync.Once
	done      chan struct{}
	stopOnce  sync.Once
	reason    string
}

// whepOut is one sent track.
type whepOut struct {
	pub    track.Published
	sid    string
	local  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender
	w      *whepWriter
	att    track.Attachment
}

func newWHEPSession(h *WHEP, roomName, identity string, pc *webrtc.PeerConnection) *whepSession {
	s := &whepSession{h: h, id: newID("WE_"), room: roomName, identity: identity, pc: pc,
		connected: make(chan struct{}), done: make(chan struct{})}
	s.log = h.log.With("session", s.id, "room", roomName, "participant", identity)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			s.connOnce.Do(func() { close(s.connected) })
		case webrtc.PeerConnectionStateFailed:
			s.stop("ICE/DTLS failed")
		case webrtc.PeerConnectionStateClosed:
			s.stop("connection closed")
		}
	})
	return s
}

// addTracks adds one send track per chosen published track.
func (s *whepSession) addTracks(chosen []track.Published) error {
	for _, t := range chosen {
		info := t.Info()
		c := info.Codec.RTPCodecCapability
		local, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
			MimeType: c.MimeType, ClockRate: c.ClockRate, Channels: c.Channels, SDPFmtpLine: c.SDPFmtpLine,
		}, info.SID, info.ParticipantIdentity)
		if err != nil {
			return fmt.Errorf("whep: track %s: %w", info.SID, err)
		}
		sender, err := s.pc.AddTrack(local)
		if err != nil {
			return fmt.Errorf("whep: add track %s: %w", info.SID, err)
		}
		s.outs = append(s.outs, &whepOut{pub: t, sid: info.SID, local: local, sender: sender,
			w: newWHEPWriter(local, info.Kind == webrtc.RTPCodecTypeVideo)})
	}
	return nil
}

// attach starts the flow of each track into its writer.
func (s *whepSession) attach() error {
	for _, o := range s.outs {
		att, err := o.pub.Attach(o.w, track.AttachOptions{Quality: livekit.VideoQuality_HIGH})
		if err != nil {
			return fmt.Errorf("whep: attach %s: %w", o.sid, err)
		}
		o.att = att
	}
	return nil
}

func (s *whepSession) detach() {
	for _, o := range s.outs {
		if o.att != nil {
			o.att.Close()
		}
	}
}

func (s *whepSession) begin(skipped []string) {
	s.log.Info("WHEP session started", "tracks", len(s.outs), "skipped", skipped)
	for _, o := range s.outs {
		s.h.sessions.goTracked(func() { s.readRTCP(o) })
	}
	s.h.sessions.goTracked(s.run)
}

func (s *whepSession) stop(reason string) {
	s.stopOnce.Do(func() {
		s.reason = reason
		close(s.done)
	})
}

func (s *whepSession) run() {
	check := time.NewTicker(2 * time.Second)
	defer check.Stop()
	deadline := time.NewTimer(s.h.cfg.MediaTimeout)
	defer deadline.Stop()
	connected := s.connected
loop:
	for {
		select {
		case <-s.done:
			break loop
		case <-connected:
			connected = nil
			deadline.Stop()
			for _, o := range s.outs {
				o.att.RequestKeyframe() // start the picture now, not at the next GOP
			}
		case <-deadline.C:
			s.stop(fmt.Sprintf("not connected within %v", s.h.cfg.MediaTimeout))
		case <-check.C:
			if reason := s.stillServed(); reason != "" {
				s.stop(reason)
			}
		}
	}
	s.detach()
	_ = s.pc.Close() // ends the RTCP readers
	s.h.sessions.remove(s.id)
	s.log.Info("WHEP session closed", "reason", s.reason)
}

// stillServed returns why the session must end, or "".
func (s *whepSession) stillServed() string {
	tracks, err := s.h.cfg.Host.Lookup(s.room, s.identity)
	if errors.Is(err, ErrNotFound) {
		return "participant left"
	}
	if err != nil {
		return ""
	}
	for _, o := range s.outs {
		found := false
		for _, t := range tracks {
			if t.Info().SID == o.sid {
				found = true
				break
			}
		}
		if !found {
			return "participant unpublished track " + o.sid
		}
	}
	return ""
}

// readRTCP turns the viewer's feedback into actions: PLI/FIR request a
// keyframe from the publisher (merged with everyone else's), NACKs are
// answered from the writer's own cache of recently sent video packets.
func (s *whepSession) readRTCP(o *whepOut) {
	for {
		pkts, _, err := o.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				o.att.RequestKeyframe()
			case *rtcp.TransportLayerNack:
				if o.w.resend(p.Nacks) == 0 && o.w.video {
					o.att.RequestKeyframe() // nothing left to repair with
				}
			}
		}
	}
}

// whepWriter is the track.RTPWriter of one WHEP track: it forwards into
// pion's static track (which sets SSRC and payload type) without header
// extensions (their IDs were negotiated with the publisher), and keeps the
// last sentSlots video packets to answer NACKs.
type whepWriter struct {
	local *webrtc.TrackLocalStaticRTP
	video bool

	mu    sync.Mutex
	pkt   rtp.Packet
	cache []sentSlot // video only
}

// sentSlots covers ~1 s of 2 Mbit/s video: enough for loopback and LAN
// round trips; older losses are repaired with a keyframe instead.
const sentSlots = 512

type sentSlot struct {
	valid bool
	hdr   rtp.Header
	n     int
	buf   [1500]byte
}

func newWHEPWriter(local *webrtc.TrackLocalStaticRTP, video bool) *whepWriter {
	w := &whepWriter{local: local, video: video}
	if video {
		w.cache = make([]sentSlot, sentSlots)
	}
	return w
}

// WriteRTP implements track.RTPWriter; it allocates nothing.
func (w *whepWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pkt.Header = *h
	w.pkt.Extension = false
	w.pkt.Extensions = nil
	w.pkt.Payload = payload
	if w.cache != nil && len(payload) <= len(w.cache[0].buf) {
		sl := &w.cache[h.SequenceNumber%sentSlots]
		sl.valid, sl.hdr, sl.n = true, w.pkt.Header, copy(sl.buf[:], payload)
		sl.hdr.CSRC = nil
	}
	if err := w.local.WriteRTP(&w.pkt); err != nil {
		return 0, fmt.Errorf("whep: %w", err)
	}
	return len(payload), nil
}

// resend retransmits the NACKed packets still cached; it returns how many.
func (w *whepWriter) resend(nacks []rtcp.NackPair) int {
	if w.cache == nil {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	sent := 0
	for _, np := range nacks {
		np.Range(func(seq uint16) bool {
			sl := &w.cache[seq%sentSlots]
			if sl.valid && sl.hdr.SequenceNumber == seq {
				w.pkt.Header = sl.hdr
				w.pkt.Payload = sl.buf[:sl.n]
				if w.local.WriteRTP(&w.pkt) == nil {
					sent++
				}
			}
			return true
		})
	}
	return sent
}
