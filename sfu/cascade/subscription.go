package cascade

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/classcast/classcast/sfu/track"
	"github.com/pion/rtp"
)

// Subscription is one track mirrored from the parent into a Producer.
type Subscription struct {
	link     *Link
	id       uint32
	room     string
	trackSID string
	producer track.Producer
	ready    chan struct{}
	closed   atomic.Bool
	num      atomic.Uint32 // parent's track number on the current connection

	// trackers are used by the socket's read goroutine and the NACK ticker.
	trackers [maxLayers]lossTracker

	mu        sync.Mutex
	layers    []int
	info      *track.Info
	err       error
	readyOnce bool
	lastPLI   [maxLayers]time.Time
}

// Ready is closed once the parent has answered the first time (accepted or
// refused: see Err).
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Err is the parent's refusal, if any.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Info is the track description the parent sent.
func (s *Subscription) Info() (track.Info, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.info == nil {
		return track.Info{}, false
	}
	return *s.info, true
}

// Stats reports loss recovery for one layer.
func (s *Subscription) Stats(layer int) LayerStats {
	if li, ok := layerIndex(layer); ok {
		return s.trackers[li].stats()
	}
	return LayerStats{}
}

// SetLayers changes which layers the child needs (dynacast): the parent
// attaches and detaches layers accordingly.
func (s *Subscription) SetLayers(layers []int) {
	s.mu.Lock()
	s.layers = append(s.layers[:0:0], layers...)
	s.mu.Unlock()
	if cc := s.link.cur.Load(); cc != nil && s.num.Load() != 0 {
		_ = cc.ctl.send(&message{Type: msgLayers, Num: uint16(s.num.Load()), Layers: layers})
	}
}

// Close stops the subscription. The producer is left to the core.
func (s *Subscription) Close() {
	if s.closed.Swap(true) {
		return
	}
	s.link.forget(s)
	if cc := s.link.cur.Load(); cc != nil && s.num.Load() != 0 {
		_ = cc.ctl.send(&message{Type: msgUnsubscribe, Num: uint16(s.num.Load())})
	}
}

func (s *Subscription) subscribeMessage() *message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &message{Type: msgSubscribe, ID: s.id, Room: s.room, Track: s.trackSID,
		Layers: append([]int(nil), s.layers...)}
}

func (s *Subscription) bind(num uint16, info *track.Info) {
	s.num.Store(uint32(num))
	s.mu.Lock()
	if info != nil {
		s.info = info
	}
	s.markReadyLocked()
	s.mu.Unlock()
}

func (s *Subscription) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.markReadyLocked()
	s.mu.Unlock()
}

func (s *Subscription) markReadyLocked() {
	if !s.readyOnce {
		s.readyOnce = true
		close(s.ready)
	}
}

func (s *Subscription) resetTrackers() {
	s.num.Store(0)
	for i := range s.trackers {
		t := &s.trackers[i]
		t.mu.Lock()
		t.resetLocked()
		t.mu.Unlock()
	}
}

// requestKeyframe is the producer's OnKeyframeRequest: merged per hop, at
// most one PLI per layer per KeyframeInterval goes upstream.
func (s *Subscription) requestKeyframe(layer int) {
	li, ok := layerIndex(layer)
	if !ok || s.closed.Load() {
		return
	}
	now := time.Now()
	s.mu.Lock()
	if now.Sub(s.lastPLI[li]) < s.link.cfg.KeyframeInterval {
		s.mu.Unlock()
		return
	}
	s.lastPLI[li] = now
	s.mu.Unlock()
	if cc := s.link.cur.Load(); cc != nil && s.num.Load() != 0 {
		_ = cc.ctl.send(&message{Type: msgPLI, Num: uint16(s.num.Load()), Layer: layer})
	}
}

// receiver is the per-connection frame decoder; it reuses one rtp.Packet so
// the receive path does not allocate.
type receiver struct {
	pkt rtp.Packet
}

// deliver hands one decrypted frame to its subscription's producer. It
// reports false for a malformed frame (a duplicate or a frame for a closed
// subscription is fine, just dropped).
func (r *receiver) deliver(table []*Subscription, b []byte, now int64) bool {
	num, layer, _, raw, err := parseFrame(b)
	if err != nil || int(num) >= len(table) || layer >= maxLayers {
		return false
	}
	s := table[num]
	if s == nil || s.closed.Load() {
		return true
	}
	if !s.trackers[layer].onPacket(rtpSeq(raw), now) {
		return true // duplicate
	}
	if err := r.pkt.Unmarshal(raw); err != nil {
		return false
	}
	_ = s.producer.WriteRTP(int(layer), &r.pkt)
	return true
}
