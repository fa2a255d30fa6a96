package rtsp

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"

	"github.com/classcast/classcast/sfu/track"
)

// output serves one participant (or one view of it) to RTSP readers: one
// gortsplib ServerStream shared by all readers, fed by one RTPWriter attached
// to each of the participant's tracks. gortsplib's stream sends RTCP sender
// reports to the players.
type output struct {
	path    Path
	stream  *gortsplib.ServerStream
	writers []*outputWriter
	sids    []string // track SIDs served, sorted

	mu         sync.Mutex
	readers    int
	lastReader time.Time
	closed     bool
}

// sourceRank orders media so players that take the first video pick the
// camera: camera, microphone, whiteboard, whiteboard audio, anything else.
func sourceRank(s livekit.TrackSource) int {
	switch s {
	case livekit.TrackSource_CAMERA:
		return 0
	case livekit.TrackSource_MICROPHONE:
		return 1
	case livekit.TrackSource_SCREEN_SHARE:
		return 2
	case livekit.TrackSource_SCREEN_SHARE_AUDIO:
		return 3
	}
	return 4
}

func inView(view string, s livekit.TrackSource) bool {
	switch view {
	case ViewCamera:
		return s == livekit.TrackSource_CAMERA || s == livekit.TrackSource_MICROPHONE
	case ViewWhiteboard:
		return s == livekit.TrackSource_SCREEN_SHARE || s == livekit.TrackSource_SCREEN_SHARE_AUDIO
	}
	return true
}

// servable picks the tracks of view that RTSP can carry, in sourceRank
// order, with their formats.
func servable(view string, tracks []track.Published) ([]track.Published, []format.Format, []string) {
	tracks = slices.Clone(tracks)
	slices.SortStableFunc(tracks, func(a, b track.Published) int {
		return sourceRank(a.Info().Source) - sourceRank(b.Info().Source)
	})
	var keep []track.Published
	var formats []format.Format
	var kinds []string
	pt := uint8(96)
	for _, t := range tracks {
		info := t.Info()
		if !inView(view, info.Source) {
			continue
		}
		f, kind, err := outputFormat(info.Codec, pt)
		if err != nil {
			continue // e.g. AV1: the other tracks are still served
		}
		if f.PayloadType() >= 96 {
			pt++
		}
		keep, formats, kinds = append(keep, t), append(formats, f), append(kinds, kind)
	}
	return keep, formats, kinds
}

func sidsOf(tracks []track.Published) []string {
	sids := make([]string, len(tracks))
	for i, t := range tracks {
		sids[i] = t.Info().SID
	}
	slices.Sort(sids)
	return sids
}

func newOutput(srv *gortsplib.Server, p Path, all []track.Published) (*output, error) {
	tracks, formats, kinds := servable(p.View, all)
	if len(tracks) == 0 {
		return nil, fmt.Errorf("%w: %s has no track that RTSP can carry (served: H264, VP8, VP9, Opus, PCMU, PCMA)",
			ErrNotFound, p)
	}
	desc := &description.Session{Title: p.Room + "/" + p.Participant}
	for i := range tracks {
		desc.Medias = append(desc.Medias, &description.Media{
			Type: description.MediaType(kinds[i]), Formats: []format.Format{formats[i]},
		})
	}
	o := &output{path: p, sids: sidsOf(tracks), lastReader: time.Now()}
	o.stream = &gortsplib.ServerStream{Server: srv, Desc: desc}
	if err := o.stream.Initialize(); err != nil {
		return nil, fmt.Errorf("rtsp output %s: %w", p, err)
	}
	for i, t := range tracks {
		w := &outputWriter{stream: o.stream, media: desc.Medias[i], pt: formats[i].PayloadType(),
			clock: float64(formats[i].ClockRate())}
		_, w.waitKey = formats[i].(*format.H264)
		att, err := t.Attach(w, track.AttachOptions{})
		if err != nil {
			o.close()
			return nil, fmt.Errorf("rtsp output %s: attach %s: %w", p, t.Info().SID, err)
		}
		w.att = att
		o.writers = append(o.writers, w)
	}
	return o, nil
}

func (o *output) addReader() {
	o.mu.Lock()
	o.readers++
	o.mu.Unlock()
}

func (o *output) removeReader() {
	o.mu.Lock()
	o.readers--
	o.lastReader = time.Now()
	o.mu.Unlock()
}

// idleFor is how long the output has had no reader (0 while it has one).
func (o *output) idleFor(now time.Time) time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.readers > 0 {
		return 0
	}
	return now.Sub(o.lastReader)
}

// stillPublished reports whether the participant still publishes exactly
// the tracks served. When it changed, the output is dropped (its readers are
// disconnected and reconnect to the new set): an RTSP session cannot add media.
func (o *output) stillPublished(h Host) bool {
	tracks, err := h.Lookup(o.path.Room, o.path.Participant)
	if errors.Is(err, ErrNotFound) {
		return false
	}
	if err != nil {
		return true // transient: keep serving
	}
	keep, _, _ := servable(o.path.View, tracks)
	return slices.Equal(sidsOf(keep), o.sids)
}

func (o *output) requestKeyframes() {
	for _, w := range o.writers {
		w.att.RequestKeyframe()
	}
}

// close detaches from the tracks and disconnects the readers; idempotent.
func (o *output) close() {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.closed = true
	o.mu.Unlock()
	for _, w := range o.writers {
		w.att.Close()
	}
	o.stream.Close()
}

// output returns the output for p, creating it (and attaching to the
// participant's tracks) on first use or when the tracks changed.
func (s *Server) output(p Path) (*output, error) {
	tracks, err := s.cfg.Host.Lookup(p.Room, p.Participant)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	keep, _, _ := servable(p.View, tracks)
	s.mu.Lock()
	o := s.outputs[p.String()]
	s.mu.Unlock()
	if o != nil && slices.Equal(o.sids, sidsOf(keep)) {
		return o, nil
	}
	fresh, err := newOutput(s.rtsp, p, tracks)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		fresh.close()
		return nil, ErrClosed
	}
	cur := s.outputs[p.String()]
	if cur != nil && cur != o && slices.Equal(cur.sids, fresh.sids) {
		// another request built the same output meanwhile: use that one
		s.mu.Unlock()
		fresh.close()
		return cur, nil
	}
	s.outputs[p.String()] = fresh
	s.mu.Unlock()
	if cur != nil {
		cur.close()
	}
	return fresh, nil
}

// outputWriter is attached to one published track. It forwards RTP as is,
// changing only what an RTSP player needs: our payload type, no header
// extensions (their IDs were negotiated with WebRTC peers, not with the
// player). gortsplib sets the SSRC of the RTSP stream.
type outputWriter struct {
	stream *gortsplib.ServerStream
	media  *description.Media
	pt     uint8
	clock  float64
	att    track.Attachment

	mu  sync.Mutex // WriteRTP and WriteSenderReport may come from different goroutines
	pkt rtp.Packet
	// waitKey drops H.264 until the first keyframe: a WebRTC publisher's
	// SDP has no sprop-parameter-sets, so slices before the first in-band
	// SPS/PPS only make the first player log "non-existing PPS" errors.
	waitKey bool
	srWall  time.Time
	srTS    uint32
}

// WriteRTP implements track.RTPWriter.
func (w *outputWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.waitKey {
		if !h264KeyStart(payload) {
			return len(payload), nil
		}
		w.waitKey = false
	}
	w.pkt.Header = *h
	w.pkt.PayloadType = w.pt
	w.pkt.Extension = false
	w.pkt.Extensions = nil
	w.pkt.Payload = payload
	ntp := time.Now()
	if !w.srWall.IsZero() {
		// the publisher's clock, so players keep audio and video in sync
		d := float64(int32(h.Timestamp-w.srTS)) / w.clock
		ntp = w.srWall.Add(time.Duration(d * float64(time.Second)))
	}
	if err := w.stream.WritePacketRTPWithNTP(w.media, &w.pkt, ntp); err != nil {
		return 0, fmt.Errorf("rtsp output: %w", err)
	}
	return len(payload), nil
}

// WriteSenderReport implements track.SenderReportWriter.
func (w *outputWriter) WriteSenderReport(wallClock time.Time, rtpTimestamp uint32) {
	w.mu.Lock()
	w.srWall, w.srTS = wallClock, rtpTimestamp
	w.mu.Unlock()
}

// h264KeyStart reports whether an H.264 RTP payload starts a keyframe:
// SPS, IDR, a STAP-A holding either, or the first FU-A fragment of an IDR.
func h264KeyStart(payload []byte) bool {
	if len(payload) < 2 {
		return false
	}
	switch payload[0] & 0x1f {
	case naluSPS, naluIDR:
		return true
	case naluSTAPA:
		for p := payload[1:]; len(p) > 2; {
			n := int(p[0])<<8 | int(p[1])
			p = p[2:]
			if n == 0 || n > len(p) {
				return false
			}
			if t := p[0] & 0x1f; t == naluSPS || t == naluIDR {
				return true
			}
			p = p[n:]
		}
	case naluFUA:
		return payload[1]&0x80 != 0 && payload[1]&0x1f == naluIDR
	}
	return false
}
