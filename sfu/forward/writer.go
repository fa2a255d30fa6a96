package forward

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"

	"github.com/classcast/classcast/sfu/codec"
	"github.com/classcast/classcast/sfu/packetcache"
)

// writerQueue is the number of packet handles a writer group may have
// pending. At 720p (~300 packets/s) that is about 200 ms of video: enough to
// ride out a scheduling hiccup, short enough that a stuck group loses packets
// (and recovers them by NACK) instead of building latency.
const writerQueue = 64

// minGroup is the smallest number of subscribers a writer goroutine serves
// before another one is started; groups grow as √N (Galene's rule) so that
// per-packet wake-ups stay proportional to √N while the work spreads over
// cores.
const minGroup = 4

// handle is what crosses from the reader to the writers: where the packet
// sits in the shared cache. Packets themselves never travel.
type handle struct {
	// arrival is when the reader got the packet (unix nanos): read once
	// here rather than once per subscriber, and the munger wants the
	// packet's arrival, not the moment a writer got round to it.
	arrival  int64
	seq      uint16
	index    uint16
	keyframe bool
	padding  bool
}

// scratch is a writer goroutine's private buffers for rewriting one packet;
// down tracks write from it and never keep it.
type scratch struct {
	hdr     rtp.Header
	pkt     rtp.Packet
	payload [packetcache.SlotSize]byte
	rtx     [packetcache.SlotSize]byte
	rtxOut  [packetcache.SlotSize + 2]byte

	// rewritten says payload holds the packet being delivered with the
	// VP8 picture id and TL0PICIDX below. Down tracks of one group are
	// usually numbered alike, so they share one rewritten copy instead of
	// copying 1,100 bytes each. Reset before each packet.
	rewritten bool
	pid       uint16
	tl0       uint8
}

// inPacket is one cached packet as the down tracks of a group see it,
// parsed once for all of them.
type inPacket struct {
	pkt      *rtp.Packet
	layer    int
	arrival  int64
	keyframe bool
	// vp8 is the payload descriptor when the track is VP8 and it carries
	// a picture id; nil otherwise.
	vp8 *codec.VP8Descriptor
}

// writer serves a group of down tracks of one layer from its own goroutine.
type writer struct {
	layer *upLayer
	ch    chan handle
	quit  chan struct{}
	downs atomic.Pointer[[]*DownTrack]
	// n is the group size; guarded by layer.mu.
	n int
	// raw, when set, makes this a raw layer writer (layer.go): it gets the
	// layer's packets unmodified instead of serving down tracks.
	raw *rawSink

	buf  [packetcache.SlotSize]byte
	pkt  rtp.Packet
	desc codec.VP8Descriptor
	in   inPacket
	scr  scratch
}

// enqueue is the slow-subscriber policy, in one place: never block the
// reader. When a group's queue is full the packet is skipped for that group
// and counted; its subscribers see a sequence gap exactly like network loss
// and NACK it, and the retransmission is served from the shared cache once
// the group catches up. A group that stays behind keeps losing packets, not
// the publisher or the other groups.
func (w *writer) enqueue(h handle) {
	select {
	case w.ch <- h:
	default:
		if d := w.downs.Load(); d != nil {
			w.layer.up.metrics.Drops.Add(float64(len(*d)))
		}
	}
}

func (w *writer) run(wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case <-w.quit:
			return
		case h := <-w.ch:
			w.deliver(h)
		}
	}
}

func (w *writer) deliver(h handle) {
	if w.raw != nil {
		w.deliverRaw(h)
		return
	}
	downs := w.downs.Load()
	if downs == nil {
		return
	}
	idx := w.layer.idx
	if h.padding {
		for _, d := range *downs {
			d.skip(idx, h.seq)
		}
		return
	}
	n := w.layer.cache.GetAt(h.seq, h.index, w.buf[:])
	if n == 0 {
		return // already overwritten: this group is far behind
	}
	if err := w.pkt.Unmarshal(w.buf[:n]); err != nil {
		return
	}
	w.in = inPacket{pkt: &w.pkt, layer: idx, arrival: h.arrival, keyframe: h.keyframe}
	if w.layer.up.kind == kindVP8 {
		var err error
		if w.desc, err = codec.ParseVP8(w.pkt.Payload); err == nil && w.desc.HasPictureID {
			w.in.vp8 = &w.desc
		}
	}
	w.scr.rewritten = false
	for _, d := range *downs {
		d.forward(&w.in, &w.scr)
	}
}

// groupLimit is how many down tracks one writer may serve when the layer has
// total of them.
func groupLimit(total int) int {
	g := int(math.Ceil(math.Sqrt(float64(total))))
	if g < minGroup {
		g = minGroup
	}
	return g
}

// attach adds a down track to the least loaded writer group of the layer,
// starting a new group when all are full.
func (l *upLayer) attach(d *DownTrack) {
	l.mu.Lock()
	defer l.mu.Unlock()
	total := 1
	for _, w := range l.writers {
		if w.raw == nil {
			total += w.n
		}
	}
	var best *writer
	for _, w := range l.writers {
		if w.raw != nil {
			continue
		}
		if best == nil || w.n < best.n {
			best = w
		}
	}
	if best == nil || best.n >= groupLimit(total) {
		best = &writer{layer: l, ch: make(chan handle, writerQueue), quit: make(chan struct{})}
		l.writers = append(l.writers, best)
		l.up.wg.Add(1)
		go best.run(&l.up.wg)
		l.publishLocked()
	}
	old := best.downs.Load()
	var next []*DownTrack
	if old != nil {
		next = make([]*DownTrack, 0, len(*old)+1)
		next = append(next, *old...)
	}
	next = append(next, d)
	best.downs.Store(&next)
	best.n++
}

// detach removes a down track from whichever group holds it; an emptied
// group's goroutine stops.
func (l *upLayer) detach(d *DownTrack) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, w := range l.writers {
		old := w.downs.Load()
		if old == nil {
			continue
		}
		pos := -1
		for j, x := range *old {
			if x == d {
				pos = j
				break
			}
		}
		if pos < 0 {
			continue
		}
		next := make([]*DownTrack, 0, len(*old)-1)
		next = append(next, (*old)[:pos]...)
		next = append(next, (*old)[pos+1:]...)
		w.downs.Store(&next)
		w.n--
		if w.n == 0 {
			close(w.quit)
			l.writers = append(l.writers[:i:i], l.writers[i+1:]...)
			l.publishLocked()
		}
		return
	}
}

// publishLocked refreshes the reader's lock-free view of the writers.
func (l *upLayer) publishLocked() {
	ws := make([]*writer, len(l.writers))
	copy(ws, l.writers)
	l.snapshot.Store(&ws)
}

func (l *upLayer) stopWriters() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, w := range l.writers {
		close(w.quit)
	}
	l.writers = nil
	l.publishLocked()
}
