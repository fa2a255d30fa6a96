package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"
)

// PublishOptions describe a track in its AddTrackRequest. The zero value is valid.
type PublishOptions struct {
	// Name is the track name. It defaults to the track id.
	Name string
	// Source defaults to CAMERA for video and MICROPHONE for audio.
	Source livekit.TrackSource
	// Width and Height of the (highest layer of the) video. For simulcast they default to the f layer's.
	Width, Height uint32
	// Muted publishes the track muted.
	Muted bool
	// Stream groups tracks (AddTrackRequest.stream).
	Stream string
	// DisableRED turns off RED for audio. It defaults to false, as in livekit-client.
	DisableRED bool
	// Stereo marks stereo audio.
	Stereo bool
}

// SimulcastLayer is one encoding of a simulcast track. Track must carry its rid
// (webrtc.WithRTPStreamID("q"|"h"|"f")); all layers share one track id and codec.
type SimulcastLayer struct {
	Track   webrtc.TrackLocal
	Quality livekit.VideoQuality
	Width   uint32
	Height  uint32
	Bitrate uint32
}

// LocalTrack is one of our published tracks.
type LocalTrack struct {
	room   *Room
	cid    string
	kind   webrtc.RTPCodecType
	req    *livekit.AddTrackRequest
	tracks []webrtc.TrackLocal // one per simulcast layer, q→f

	muted atomic.Bool
	plis  atomic.Uint64
	nacks atomic.Uint64
	// layerOn[q] is dynacast's last word on layer q (true until the server says otherwise).
	layerOn [3]atomic.Bool

	mu     sync.Mutex
	info   *livekit.TrackInfo
	sender *webrtc.RTPSender
}

// CID is the client id (the local track id) used in AddTrackRequest.
func (t *LocalTrack) CID() string { return t.cid }

// SID is the server track id (TR_…).
func (t *LocalTrack) SID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.info.GetSid()
}

// Info returns a copy of the TrackInfo from TrackPublishedResponse.
func (t *LocalTrack) Info() *livekit.TrackInfo { return t.infoCopy() }

func (t *LocalTrack) infoCopy() *livekit.TrackInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.info == nil {
		return nil
	}
	return proto.Clone(t.info).(*livekit.TrackInfo)
}

// Sender is the pion RTPSender carrying the track.
func (t *LocalTrack) Sender() *webrtc.RTPSender {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sender
}

// Muted reports the mute state (use it as a Pump skip func to stop sending while muted).
func (t *LocalTrack) Muted() bool { return t.muted.Load() }

// LayerEnabled reports whether dynacast wants simulcast layer q (LOW/MEDIUM/HIGH); feed a layer's Pump
// with func() bool { return !t.LayerEnabled(q) || t.Muted() } to pause unwanted layers.
func (t *LocalTrack) LayerEnabled(q livekit.VideoQuality) bool {
	if q < 0 || int(q) >= len(t.layerOn) {
		return true
	}
	return t.layerOn[q].Load()
}

// PLIs and NACKs count RTCP keyframe and retransmission requests received for this track.
func (t *LocalTrack) PLIs() uint64  { return t.plis.Load() }
func (t *LocalTrack) NACKs() uint64 { return t.nacks.Load() }

// SetMuted sends MuteTrackRequest.
func (t *LocalTrack) SetMuted(muted bool) error {
	t.muted.Store(muted)
	return t.room.sendSignal(&livekit.SignalRequest{Message: &livekit.SignalRequest_Mute{
		Mute: &livekit.MuteTrackRequest{Sid: t.SID(), Muted: muted},
	}})
}

// Unpublish removes the track from the publisher connection and renegotiates; the server learns of
// it from the offer (as with livekit-client, no signal message is sent).
func (t *LocalTrack) Unpublish() error {
	r := t.room
	r.mu.Lock()
	delete(r.localTracks, t.cid)
	pub := r.pub
	r.mu.Unlock()
	sender := t.Sender()
	if pub == nil || sender == nil {
		return nil
	}
	if err := pub.pc.RemoveTrack(sender); err != nil {
		return fmt.Errorf("client: remove track: %w", err)
	}
	return pub.negotiate(false)
}

// PublishTrack publishes one audio or video track: any pion TrackLocal, typically a
// TrackLocalStaticSample (fed by media.Pump) or a TrackLocalStaticRTP (raw RTP). It sends
// AddTrackRequest{cid = track id}, waits for TrackPublishedResponse, adds the track to the publisher
// connection and offers.
func (r *Room) PublishTrack(ctx context.Context, track webrtc.TrackLocal, opts PublishOptions) (*LocalTrack, error) {
	return r.publish(ctx, []webrtc.TrackLocal{track}, nil, opts)
}

// PublishSimulcast publishes one video track with several encodings on one transceiver
// (a=simulcast:send q;h;f), layers ordered low to high.
func (r *Room) PublishSimulcast(ctx context.Context, layers []SimulcastLayer, opts PublishOptions) (*LocalTrack, error) {
	if len(layers) == 0 {
		return nil, ErrNoSimulcastLayers
	}
	tracks := make([]webrtc.TrackLocal, len(layers))
	vl := make([]*livekit.VideoLayer, len(layers))
	for i, l := range layers {
		tracks[i] = l.Track
		vl[i] = &livekit.VideoLayer{Quality: l.Quality, Width: l.Width, Height: l.Height, Bitrate: l.Bitrate}
	}
	top := layers[len(layers)-1]
	if opts.Width == 0 && opts.Height == 0 {
		opts.Width, opts.Height = top.Width, top.Height
	}
	return r.publish(ctx, tracks, vl, opts)
}

func (r *Room) publish(ctx context.Context, tracks []webrtc.TrackLocal, layers []*livekit.VideoLayer,
	opts PublishOptions,
) (*LocalTrack, error) {
	if err := r.ensureOpen(); err != nil {
		return nil, err
	}
	lt := newLocalTrack(r, tracks, layers, opts)
	ch := make(chan *livekit.TrackInfo, 1)
	r.mu.Lock()
	r.pendingPub[lt.cid] = ch
	r.mu.Unlock()
	if err := r.sendSignal(&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: lt.req}}); err != nil {
		r.forgetPending(lt.cid)
		return nil, err
	}
	info, err := r.awaitPublished(ctx, lt.cid, ch)
	if err != nil {
		return nil, err
	}
	lt.mu.Lock()
	lt.info = info
	lt.mu.Unlock()
	r.mu.Lock()
	r.localTracks[lt.cid] = lt
	r.mu.Unlock()
	if err := r.attach(lt); err != nil {
		return nil, err
	}
	if cb := r.opts.Callbacks.OnLocalTrackPublished; cb != nil {
		r.events.post(func() { cb(lt) })
	}
	return lt, nil
}

func newLocalTrack(r *Room, tracks []webrtc.TrackLocal, layers []*livekit.VideoLayer, opts PublishOptions) *LocalTrack {
	first := tracks[0]
	lt := &LocalTrack{room: r, cid: first.ID(), kind: first.Kind(), tracks: tracks}
	for i := range lt.layerOn {
		lt.layerOn[i].Store(true)
	}
	lt.muted.Store(opts.Muted)
	req := &livekit.AddTrackRequest{
		Cid: lt.cid, Name: opts.Name, Width: opts.Width, Height: opts.Height, Muted: opts.Muted,
		Source: opts.Source, Layers: layers, Stream: opts.Stream, DisableRed: opts.DisableRED,
	}
	if req.Name == "" {
		req.Name = lt.cid
	}
	switch lt.kind {
	case webrtc.RTPCodecTypeVideo:
		req.Type = livekit.TrackType_VIDEO
		if req.Source == livekit.TrackSource_UNKNOWN {
			req.Source = livekit.TrackSource_CAMERA
		}
		if codec := codecName(first); codec != "" {
			req.SimulcastCodecs = []*livekit.SimulcastCodec{{Codec: codec, Cid: lt.cid, Layers: layers}}
		}
	default:
		req.Type = livekit.TrackType_AUDIO
		if req.Source == livekit.TrackSource_UNKNOWN {
			req.Source = livekit.TrackSource_MICROPHONE
		}
		if opts.Stereo {
			req.AudioFeatures = append(req.AudioFeatures, livekit.AudioTrackFeature_TF_STEREO)
		}
	}
	lt.req = req
	return lt
}

// codecName is the lower-case codec ("vp8", "h264") of a pion static track, "" if unknown.
func codecName(t webrtc.TrackLocal) string {
	c, ok := t.(interface {
		Codec() webrtc.RTPCodecCapability
	})
	if !ok {
		return ""
	}
	mime := c.Codec().MimeType
	if i := strings.IndexByte(mime, '/'); i >= 0 {
		return strings.ToLower(mime[i+1:])
	}
	return ""
}

func (r *Room) awaitPublished(ctx context.Context, cid string, ch chan *livekit.TrackInfo) (*livekit.TrackInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.PublishTimeout)
	defer cancel()
	select {
	case info, ok := <-ch:
		if !ok {
			return nil, ErrClosed
		}
		return info, nil
	case <-ctx.Done():
		r.forgetPending(cid)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w (cid %s)", ErrPublishTimeout, cid)
		}
		return nil, ctx.Err()
	}
}

func (r *Room) forgetPending(cid string) {
	r.mu.Lock()
	delete(r.pendingPub, cid)
	r.mu.Unlock()
}

// attach puts the track on the publisher connection (sendonly transceiver, extra encodings for
// simulcast), starts its RTCP reader and renegotiates.
func (r *Room) attach(lt *LocalTrack) error {
	pub, _ := r.transports()
	if pub == nil {
		return ErrClosed
	}
	tr, err := pub.pc.AddTransceiverFromTrack(lt.tracks[0], webrtc.RTPTransceiverInit{
		Direction: webrtc.RTPTransceiverDirectionSendonly,
	})
	if err != nil {
		return fmt.Errorf("client: add transceiver: %w", err)
	}
	sender := tr.Sender()
	for _, extra := range lt.tracks[1:] {
		if err := sender.AddEncoding(extra); err != nil {
			return fmt.Errorf("client: add simulcast encoding: %w", err)
		}
	}
	lt.mu.Lock()
	lt.sender = sender
	lt.mu.Unlock()
	r.wg.Add(1)
	go r.readSenderRTCP(lt, sender)
	return pub.negotiate(false)
}

// readSenderRTCP drains RTCP for a sender (interceptors only see what is read) and counts
// keyframe/NACK requests. It ends when the sender stops.
func (r *Room) readSenderRTCP(lt *LocalTrack, sender *webrtc.RTPSender) {
	defer r.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, _, err := sender.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				lt.plis.Add(1)
			case *rtcp.TransportLayerNack:
				lt.nacks.Add(1)
			}
		}
	}
}

func (r *Room) handleTrackPublished(res *livekit.TrackPublishedResponse) {
	r.mu.Lock()
	ch, ok := r.pendingPub[res.GetCid()]
	delete(r.pendingPub, res.GetCid())
	r.mu.Unlock()
	if !ok {
		r.log.Debug("track published for unknown cid", "cid", res.GetCid())
		return
	}
	ch <- proto.Clone(res.GetTrack()).(*livekit.TrackInfo)
}

func (r *Room) failPendingPublishes() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for cid, ch := range r.pendingPub {
		close(ch)
		delete(r.pendingPub, cid)
	}
}

func (r *Room) localBySID(sid string) *LocalTrack {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, lt := range r.localTracks {
		if lt.SID() == sid {
			return lt
		}
	}
	return nil
}

func (r *Room) handleLocalUnpublished(sid string) {
	lt := r.localBySID(sid)
	if lt == nil {
		return
	}
	r.mu.Lock()
	delete(r.localTracks, lt.cid)
	r.mu.Unlock()
	if cb := r.opts.Callbacks.OnLocalTrackUnpublished; cb != nil {
		r.events.post(func() { cb(lt) })
	}
}

func (r *Room) handleServerMute(m *livekit.MuteTrackRequest) {
	lt := r.localBySID(m.GetSid())
	if lt == nil {
		return
	}
	lt.muted.Store(m.GetMuted())
	if cb := r.opts.Callbacks.OnServerMute; cb != nil {
		muted := m.GetMuted()
		r.events.post(func() { cb(lt, muted) })
	}
}

func (r *Room) handleSubscribedQuality(u *livekit.SubscribedQualityUpdate) {
	if lt := r.localBySID(u.GetTrackSid()); lt != nil {
		qs := u.GetSubscribedQualities() //nolint:staticcheck // servers fill either this or subscribed_codecs
		for _, c := range u.GetSubscribedCodecs() {
			qs = c.GetQualities()
		}
		for _, q := range qs {
			if q.GetQuality() >= 0 && int(q.GetQuality()) < len(lt.layerOn) {
				lt.layerOn[q.GetQuality()].Store(q.GetEnabled())
			}
		}
	}
	post1(r, r.opts.Callbacks.OnSubscribedQualityUpdate, u)
}

func (r *Room) handleRequestResponse(rr *livekit.RequestResponse) {
	if rr.GetReason() != livekit.RequestResponse_OK {
		if add := rr.GetAddTrack(); add != nil {
			r.log.Info("add track refused", "cid", add.GetCid(), "reason", rr.GetReason(), "msg", rr.GetMessage())
		}
	}
	post1(r, r.opts.Callbacks.OnRequestResponse, rr)
}

// LocalTracks returns our published tracks.
func (r *Room) LocalTracks() []*LocalTrack {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*LocalTrack, 0, len(r.localTracks))
	for _, lt := range r.localTracks {
		out = append(out, lt)
	}
	return out
}

// republish publishes every local track again after a full rejoin (new AddTrackRequest, same cid and
// pion tracks, new transceivers on the new publisher connection).
func (r *Room) republish() {
	defer r.wg.Done()
	for _, lt := range r.LocalTracks() {
		ch := make(chan *livekit.TrackInfo, 1)
		r.mu.Lock()
		r.pendingPub[lt.cid] = ch
		r.mu.Unlock()
		if err := r.sendSignal(&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: lt.req}}); err != nil {
			r.log.Warn("republish", "cid", lt.cid, "err", err)
			return
		}
		info, err := r.awaitPublished(r.ctx, lt.cid, ch)
		if err != nil {
			r.log.Warn("republish", "cid", lt.cid, "err", err)
			return
		}
		lt.mu.Lock()
		lt.info = info
		lt.mu.Unlock()
		if err := r.attach(lt); err != nil {
			r.log.Warn("republish attach", "cid", lt.cid, "err", err)
		}
	}
}
