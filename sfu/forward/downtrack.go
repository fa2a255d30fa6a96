package forward

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"

	"github.com/classcast/classcast/sfu/codec"
	"github.com/classcast/classcast/sfu/munger"
	"github.com/classcast/classcast/sfu/track"
)

// keyframeRetry: while a down track waits for a keyframe of the layer it is
// switching to, it asks again this often (the up track merges requests).
const keyframeRetry = 500 * time.Millisecond

// PauseReason says why a down track is not forwarding. Several can hold at
// once; the track resumes only when none is left, so a stream never stays
// paused after its cause went away.
type PauseReason uint8

// Pause reasons.
const (
	PauseSubscriberDisabled PauseReason = 1 << iota
	PauseBandwidth
	PauseLayerMissing
)

// StreamStateFunc is told when a down track pauses or resumes.
type StreamStateFunc func(d *DownTrack, paused bool, reasons PauseReason)

// DownTrack is one consumer's view of an UpTrack: it picks a layer, rewrites
// sequence numbers, timestamps and VP8 picture ids so that every layer
// switch, pause and resume looks continuous, and writes to an RTPWriter.
type DownTrack struct {
	up *UpTrack
	// attachMu serializes changes of which layers the track is attached to.
	attachMu sync.Mutex
	attached [MaxLayers]bool

	// mu guards the fields below. It is this down track's own lock; it is
	// never held while writing to the network.
	mu        sync.Mutex
	out       track.RTPWriter
	ssrc      uint32
	pt        uint8
	rtxSSRC   uint32
	rtxPT     uint8
	rtxSeq    uint16
	current   int8 // layer being forwarded, -1 none
	target    int8 // layer wanted, -1 none
	maxLayer  int8 // highest layer the consumer asked for
	paused    PauseReason
	lastKFReq int64
	seq       *munger.Munger
	vp8       *munger.VP8Munger
	closed    bool
	onState   StreamStateFunc
	// padHdr is the probe sender's header (control.go; one sender, the
	// subscriber's bandwidth loop).
	padHdr rtp.Header
	rtx    rtxBudget
}

// NewDownTrack creates a down track on up. It forwards nothing until Bind
// gives it an output and a layer is chosen.
func NewDownTrack(up *UpTrack, maxQuality livekit.VideoQuality) *DownTrack {
	d := &DownTrack{up: up, current: -1, target: -1, maxLayer: qualityToLayer(maxQuality, up.nLayers), seq: munger.New()}
	if up.kind == kindVP8 {
		d.vp8 = munger.NewVP8()
	}
	return d
}

// Up is the track this down track consumes.
func (d *DownTrack) Up() *UpTrack { return d.up }

// OnStreamState sets the pause/resume callback.
func (d *DownTrack) OnStreamState(f StreamStateFunc) {
	d.mu.Lock()
	d.onState = f
	d.mu.Unlock()
}

// Bind gives the down track its output stream and starts forwarding.
func (d *DownTrack) Bind(out track.RTPWriter, ssrc uint32, pt uint8, rtxSSRC uint32, rtxPT uint8) error {
	if !d.up.addDown(d) {
		return ErrClosed
	}
	d.mu.Lock()
	d.out, d.ssrc, d.pt, d.rtxSSRC, d.rtxPT = out, ssrc, pt, rtxSSRC, rtxPT
	d.mu.Unlock()
	d.layersChanged(d.up.ActiveLayers())
	if d.up.kind == kindAudio || d.up.nLayers == 1 {
		d.mu.Lock()
		d.target = 0
		d.mu.Unlock()
		d.syncAttachments()
	}
	return nil
}

// Unbind stops forwarding to the current output (the transport went away).
func (d *DownTrack) Unbind() {
	d.mu.Lock()
	d.out = nil
	d.mu.Unlock()
}

// SetMaxQuality changes the highest layer wanted (from UpdateTrackSettings).
func (d *DownTrack) SetMaxQuality(q livekit.VideoQuality) {
	d.mu.Lock()
	d.maxLayer = qualityToLayer(q, d.up.nLayers)
	d.mu.Unlock()
	d.layersChanged(d.up.ActiveLayers())
}

// SetMaxLayer changes the highest layer wanted by index.
func (d *DownTrack) SetMaxLayer(layer int) {
	if layer >= d.up.nLayers {
		layer = d.up.nLayers - 1
	}
	d.mu.Lock()
	d.maxLayer = int8(layer)
	d.mu.Unlock()
	d.layersChanged(d.up.ActiveLayers())
}

// SetPaused sets or clears one pause reason.
func (d *DownTrack) SetPaused(reason PauseReason, on bool) {
	d.mu.Lock()
	before := d.paused
	if on {
		d.paused |= reason
	} else {
		d.paused &^= reason
	}
	after := d.paused
	cb := d.onState
	if before != 0 && after == 0 {
		// Resuming: the next packet starts a new epoch at a keyframe.
		d.current = -1
	}
	d.mu.Unlock()
	if (before == 0) != (after == 0) {
		if cb != nil {
			cb(d, after != 0, after)
		}
		d.layersChanged(d.up.ActiveLayers())
	}
}

// Paused returns the current pause reasons (0 when forwarding).
func (d *DownTrack) Paused() PauseReason {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.paused
}

// CurrentLayer is the layer being forwarded (-1 none).
func (d *DownTrack) CurrentLayer() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return int(d.current)
}

// TargetLayer is the layer the track is switching to or on (-1 none).
func (d *DownTrack) TargetLayer() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return int(d.target)
}

// RequestKeyframe asks the publisher for a keyframe of the layer in use.
func (d *DownTrack) RequestKeyframe() {
	d.mu.Lock()
	l := d.current
	if l < 0 {
		l = d.target
	}
	d.mu.Unlock()
	if l >= 0 {
		d.up.RequestKeyframe(int(l))
	}
}

// Close detaches the down track. It is idempotent.
func (d *DownTrack) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	d.out = nil
	d.mu.Unlock()
	d.syncAttachments()
	d.up.removeDown(d)
}

// layersChanged re-chooses the target layer given the layers being received.
func (d *DownTrack) layersChanged(active uint8) {
	d.mu.Lock()
	if d.closed || d.out == nil {
		d.mu.Unlock()
		return
	}
	want := d.chooseLocked(active)
	request := false
	if want != d.target {
		d.target = want
		if want >= 0 && want != d.current {
			request = true
			d.lastKFReq = time.Now().UnixNano()
		}
	}
	d.mu.Unlock()
	d.syncAttachments()
	if request {
		d.up.RequestKeyframe(int(want))
	}
}

// chooseLocked picks the best received layer at or below the wanted one,
// else the lowest received above it.
func (d *DownTrack) chooseLocked(active uint8) int8 {
	if d.up.kind == kindAudio || d.up.nLayers == 1 {
		return 0
	}
	if d.paused != 0 {
		return -1
	}
	for l := d.maxLayer; l >= 0; l-- {
		if active&(1<<l) != 0 {
			return l
		}
	}
	for l := d.maxLayer + 1; int(l) < d.up.nLayers; l++ {
		if active&(1<<l) != 0 {
			return l
		}
	}
	// Nothing received yet: stay on what we have, or aim at the wanted layer.
	if d.current >= 0 {
		return d.current
	}
	return d.maxLayer
}

// syncAttachments attaches the track to exactly the layers it needs: the one
// it forwards and the one it is switching to.
func (d *DownTrack) syncAttachments() {
	d.attachMu.Lock()
	defer d.attachMu.Unlock()
	var want [MaxLayers]bool
	d.mu.Lock()
	if !d.closed && d.paused == 0 {
		if d.current >= 0 {
			want[d.current] = true
		}
		if d.target >= 0 {
			want[d.target] = true
		}
	}
	d.mu.Unlock()
	for l := 0; l < d.up.nLayers; l++ {
		switch {
		case want[l] && !d.attached[l]:
			d.up.layers[l].attach(d)
		case !want[l] && d.attached[l]:
			d.up.layers[l].detach(d)
		}
		d.attached[l] = want[l]
	}
}

// skip closes the sequence gap left by a packet the SFU does not forward.
func (d *DownTrack) skip(layer int, seq uint16) {
	d.mu.Lock()
	if int(d.current) == layer {
		d.seq.Drop(seq)
	}
	d.mu.Unlock()
}

// forward is the per-packet path, called from a writer goroutine with the
// packet as parsed once for the group and that goroutine's scratch buffers.
func (d *DownTrack) forward(in *inPacket, s *scratch) {
	d.mu.Lock()
	out := d.out
	if out == nil || d.paused != 0 {
		d.mu.Unlock()
		return
	}
	layer := in.layer
	now := in.arrival
	switched := false
	detach := false
	if int(d.current) != layer {
		if int(d.target) != layer || (!in.keyframe && d.up.kind != kindAudio) {
			// Still waiting for the target's keyframe. Ask again on any
			// packet that arrives meanwhile: with nothing forwarded yet (a
			// new subscription, a resume) no packet of the current layer
			// comes to trigger the retry below, and a first request merged
			// into another subscriber's — whose keyframe passed before this
			// track was attached — would leave it waiting for the next
			// keyframe the publisher sends on its own (never, for WebRTC
			// encoders).
			retry := d.target >= 0 && d.target != d.current && now-d.lastKFReq > int64(keyframeRetry)
			if retry {
				d.lastKFReq = now
			}
			t := int(d.target)
			d.mu.Unlock()
			if retry {
				d.up.RequestKeyframe(t)
			}
			return
		}
		detach = d.current >= 0
		d.current = int8(layer)
		switched = true
		d.up.metrics.LayerSwitches.Inc()
	} else if d.target >= 0 && d.target != d.current && now-d.lastKFReq > int64(keyframeRetry) {
		d.lastKFReq = now
		t := int(d.target)
		d.mu.Unlock()
		d.up.RequestKeyframe(t)
		d.mu.Lock()
		if d.out == nil || int(d.current) != layer {
			d.mu.Unlock()
			return
		}
	}
	payload, _, ok := d.mungeLocked(layer, in.pkt, in.vp8, switched, now, s)
	d.mu.Unlock()
	if detach {
		d.syncAttachments()
	}
	if !ok {
		return
	}
	if _, err := out.WriteRTP(&s.hdr, payload); err == nil {
		m := d.up.metrics
		m.PacketsOut.Inc()
		m.BytesOut.Add(float64(len(payload) + 12))
	}
}

func (d *DownTrack) fillHeaderLocked(h *rtp.Header, marker bool, seq uint16, ts uint32) {
	ext := h.Extensions[:0]
	*h = rtp.Header{
		Version: 2, Marker: marker, PayloadType: d.pt,
		SequenceNumber: seq, Timestamp: ts, SSRC: d.ssrc, Extensions: ext,
	}
}

// mungeLocked rewrites a packet's numbering for this subscriber: VP8
// picture ids first (a frame dropped for its temporal layer closes its
// sequence gap), then sequence number and timestamp. desc is p's VP8
// descriptor when it carries a picture id (nil otherwise). The payload
// returned is the writer's private copy whenever bytes change; the shared
// cache is never written.
func (d *DownTrack) mungeLocked(layer int, p *rtp.Packet, desc *codec.VP8Descriptor, switched bool, now int64, s *scratch) ([]byte, munger.Out, bool) {
	return d.mungeOrResendLocked(layer, p, desc, switched, false, now, s)
}

// mungeOrResendLocked is mungeLocked; resend marks a packet already sent
// once (NACK answer, probe), which must not change the numbering state.
func (d *DownTrack) mungeOrResendLocked(layer int, p *rtp.Packet, desc *codec.VP8Descriptor, switched, resend bool, now int64, s *scratch) ([]byte, munger.Out, bool) {
	payload := p.Payload
	var vp8 munger.VP8Out
	isVP8 := false
	if d.vp8 != nil && desc != nil {
		out, action := d.vp8.Munge(desc, uint8(layer), switched)
		switch action {
		case munger.VP8Drop:
			if !resend {
				d.seq.Drop(p.SequenceNumber)
			}
			return nil, munger.Out{}, false
		case munger.VP8Refuse:
			return nil, munger.Out{}, false
		}
		vp8, isVP8 = out, true
	}
	res, ok := d.seq.Rewrite(munger.In{
		Seq: p.SequenceNumber, TS: p.Timestamp, Marker: p.Marker, ArrivalNanos: now,
		ClockRate: d.up.clockRate, Switch: switched, Source: uint8(layer),
	})
	if !ok {
		return nil, res, false
	}
	if isVP8 {
		payload = rewriteVP8(payload, desc, vp8, s)
	}
	d.fillHeaderLocked(&s.hdr, p.Marker, res.Seq, res.TS)
	return payload, res, true
}

// rewriteVP8 returns payload with the picture id and TL0PICIDX of out: the
// shared bytes themselves when they already say so, else the scratch copy,
// made once per packet and value rather than once per subscriber.
func rewriteVP8(payload []byte, desc *codec.VP8Descriptor, out munger.VP8Out, s *scratch) []byte {
	pid := out.PictureID
	if desc.PictureID15 {
		pid &= 0x7fff
	} else {
		pid &= 0x7f
	}
	tl0 := out.TL0PICIDX
	if !desc.HasTL0PICIDX {
		tl0 = desc.TL0PICIDX
	}
	if pid == desc.PictureID && tl0 == desc.TL0PICIDX {
		return payload
	}
	if s.rewritten && s.pid == pid && s.tl0 == tl0 {
		return s.payload[:len(payload)]
	}
	n := copy(s.payload[:], payload)
	if codec.RewriteVP8(s.payload[:n], out.PictureID, out.TL0PICIDX) != nil {
		s.rewritten = false
		return payload
	}
	s.rewritten, s.pid, s.tl0 = true, pid, tl0
	return s.payload[:n]
}

// Retransmit answers a subscriber's NACK for an output sequence number from
// the shared cache, renumbered exactly as first sent, on the RTX stream when
// one was negotiated. s is the caller's scratch (the RTCP goroutine's).
func (d *DownTrack) Retransmit(outSeq uint16, s *scratch) bool {
	return d.retransmit(outSeq, s) > 0
}

// retransmit is Retransmit returning the bytes written (0: nothing sent).
func (d *DownTrack) retransmit(outSeq uint16, s *scratch) int {
	d.mu.Lock()
	out := d.out
	if out == nil {
		d.mu.Unlock()
		return 0
	}
	inSeq, layer, ok := d.seq.Lookup(outSeq)
	current, paused := d.current, d.paused
	d.mu.Unlock()
	if !ok || int(layer) >= d.up.nLayers {
		d.up.metrics.NACKMisses.Inc()
		return 0
	}
	if paused != 0 || int(layer) != int(current) {
		// Switched away (down for bandwidth, or paused) since it was sent:
		// the decoder waits for the new layer's keyframe anyway.
		d.up.metrics.NACKsStale.Inc()
		return 0
	}
	n := d.up.PacketAt(int(layer), inSeq, s.rtx[:])
	if n == 0 {
		d.up.metrics.NACKMisses.Inc()
		return 0
	}
	if err := s.pkt.Unmarshal(s.rtx[:n]); err != nil {
		return 0
	}
	var desc *codec.VP8Descriptor
	if d.vp8 != nil {
		if vd, err := codec.ParseVP8(s.pkt.Payload); err == nil && vd.HasPictureID {
			desc = &vd
		}
	}
	s.rewritten = false
	d.mu.Lock()
	now := time.Now().UnixNano()
	payload, res, ok := d.mungeOrResendLocked(int(layer), &s.pkt, desc, false, true, now, s)
	if !ok || res.Seq != outSeq {
		d.mu.Unlock()
		d.up.metrics.NACKMisses.Inc()
		return 0
	}
	if !d.rtx.take(len(payload)+rtpHeaderBytes, now) {
		d.mu.Unlock()
		d.up.metrics.NACKsLimited.Inc()
		return 0
	}
	if d.rtxPT != 0 && d.rtxSSRC != 0 {
		// RFC 4588: the original sequence number, then the original payload.
		if len(payload)+2 > len(s.rtxOut) {
			d.mu.Unlock()
			return 0
		}
		binary.BigEndian.PutUint16(s.rtxOut[:2], outSeq)
		m := copy(s.rtxOut[2:], payload)
		payload = s.rtxOut[:m+2]
		d.rtxSeq++
		s.hdr.SSRC, s.hdr.PayloadType, s.hdr.SequenceNumber = d.rtxSSRC, d.rtxPT, d.rtxSeq
	}
	d.mu.Unlock()
	if _, err := out.WriteRTP(&s.hdr, payload); err != nil {
		return 0
	}
	d.up.metrics.Retransmits.Inc()
	return len(payload) + rtpHeaderBytes
}

// rtpHeaderBytes approximates a retransmission's header for budgets.
const rtpHeaderBytes = 12

func qualityToLayer(q livekit.VideoQuality, n int) int8 {
	l := int8(2)
	switch q {
	case livekit.VideoQuality_LOW:
		l = 0
	case livekit.VideoQuality_MEDIUM:
		l = 1
	case livekit.VideoQuality_OFF:
		l = 0
	}
	if int(l) >= n {
		l = int8(n - 1)
	}
	return l
}
