package forward

import (
	"sync"

	"github.com/pion/rtp"

	"github.com/classcast/classcast/sfu/track"
)

// Raw layer attachments serve SFU-to-SFU links: a cascade child mirrors the
// publisher's layers with their own sequence numbers, so that its NACKs can
// be answered from this node's per-layer cache (PacketAt) and a grandchild
// can be served from the child's cache the same way. Each attachment is one
// more writer goroutine on the layer, fed the same (seq, slot) handles as
// the down-track groups: the reader never blocks on it and a slow link
// loses packets (recoverable by NACK), not the publisher.

// rawSink is a raw attachment's output and its per-writer state.
type rawSink struct {
	w track.RTPWriter
	// last is the header of the last packet written: padding-only packets
	// are not cached, so their sequence number is sent as an empty packet
	// with this header (the child sees no gap and forwards nothing).
	last    rtp.Header
	hasLast bool
}

// AttachLayer delivers the unmodified packets of one layer to w until
// detach is called. w.WriteRTP runs on the attachment's own goroutine and
// must not block for long. The consumer is counted in RawLayers (dynacast
// and cascade needs).
func (u *UpTrack) AttachLayer(layer int, w track.RTPWriter) (detach func(), err error) {
	if layer < 0 || layer >= u.nLayers {
		return nil, ErrLayer
	}
	u.mu.Lock()
	closed := u.closed
	if !closed {
		u.rawCount[layer]++
	}
	u.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	l := u.layers[layer]
	wr := &writer{layer: l, ch: make(chan handle, writerQueue), quit: make(chan struct{}), raw: &rawSink{w: w}, n: 1}
	l.mu.Lock()
	l.writers = append(l.writers, wr)
	u.wg.Add(1)
	go wr.run(&u.wg)
	l.publishLocked()
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			u.mu.Lock()
			u.rawCount[layer]--
			u.mu.Unlock()
			l.removeRaw(wr)
		})
	}, nil
}

// RawLayers is the bitmask of layers with at least one raw attachment.
func (u *UpTrack) RawLayers() uint8 {
	u.mu.Lock()
	defer u.mu.Unlock()
	var m uint8
	for i := 0; i < u.nLayers; i++ {
		if u.rawCount[i] > 0 {
			m |= 1 << i
		}
	}
	return m
}

// LayerPackets counts the packets received on a layer (padding included).
func (u *UpTrack) LayerPackets(layer int) uint64 {
	if layer < 0 || layer >= u.nLayers {
		return 0
	}
	return u.layers[layer].packets.Load()
}

func (l *upLayer) removeRaw(wr *writer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, w := range l.writers {
		if w == wr {
			close(w.quit)
			l.writers = append(l.writers[:i:i], l.writers[i+1:]...)
			l.publishLocked()
			return
		}
	}
}

// deliverRaw writes one cached packet unmodified. It does not allocate.
func (w *writer) deliverRaw(h handle) {
	s := w.raw
	if h.padding {
		if s.hasLast {
			hdr := s.last
			hdr.SequenceNumber = h.seq
			hdr.Marker, hdr.Padding = false, false
			_, _ = s.w.WriteRTP(&hdr, nil)
		}
		return
	}
	n := w.layer.cache.GetAt(h.seq, h.index, w.buf[:])
	if n == 0 {
		return
	}
	if err := w.pkt.Unmarshal(w.buf[:n]); err != nil {
		return
	}
	s.last = w.pkt.Header
	s.last.Extensions = nil
	s.hasLast = true
	_, _ = s.w.WriteRTP(&w.pkt.Header, w.pkt.Payload)
}
