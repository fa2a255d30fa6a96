package forward

import (
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/sfu/track"
)

// vp8Stream generates, without allocating, a simulcast VP8 packet stream
// shaped like Chromium's at 720p/30: three layers (q, h, f) of 1, 2 and 8
// packets per frame, 1,100-byte payloads, 15-bit picture ids, TL0PICIDX and
// a temporal layer pattern 0-2-1-2, a keyframe every 60 frames (three times
// as many packets), the marker bit on each frame's last packet.
type vp8Stream struct {
	buf    [1200]byte
	pkt    rtp.Packet
	frame  int
	layer  int // layer of the packet being produced
	inLay  int // packet index within the current layer's frame
	seq    [MaxLayers]uint16
	ts     [MaxLayers]uint32
	pid    [MaxLayers]uint16
	tl0    [MaxLayers]uint8
	ssrc   [MaxLayers]uint32
	layers int
}

const (
	streamPayload  = 1100
	keyframeEvery  = 60
	keyframeFactor = 3
)

var packetsPerFrame = [MaxLayers]int{1, 2, 8}

func newVP8Stream(layers int) *vp8Stream {
	s := &vp8Stream{layers: layers}
	for l := 0; l < layers; l++ {
		s.seq[l] = uint16(1000*l + 65000) // wraps early
		s.ts[l] = uint32(7777 * (l + 1))
		s.pid[l] = uint16(100 * l)
		s.ssrc[l] = uint32(0x1000 + l)
	}
	for i := range s.buf {
		s.buf[i] = byte(i*7 + 3)
	}
	return s
}

func (s *vp8Stream) framePackets(l int) int {
	n := packetsPerFrame[l]
	if s.frame%keyframeEvery == 0 {
		n *= keyframeFactor
	}
	return n
}

// writeRound feeds up one frame of every layer, interleaved as a browser
// sends them (ends with the top layer's marker).
func (s *vp8Stream) writeRound(up *UpTrack) {
	for {
		l, raw, p := s.next()
		up.WriteRTP(l, raw, p)
		if p.Marker && l == s.layers-1 {
			return
		}
	}
}

// next builds the next packet in s.buf and s.pkt and returns its layer and
// raw bytes. Frames are interleaved layer by layer, as a browser sends them.
func (s *vp8Stream) next() (int, []byte, *rtp.Packet) {
	l := s.layer
	last := s.inLay == s.framePackets(l)-1
	first := s.inLay == 0
	key := first && s.frame%keyframeEvery == 0
	tid := [4]uint8{0, 2, 1, 2}[s.frame%4]

	b := s.buf[:12+streamPayload]
	b[0] = 0x80
	b[1] = 96
	if last {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], s.seq[l])
	binary.BigEndian.PutUint32(b[4:], s.ts[l])
	binary.BigEndian.PutUint32(b[8:], s.ssrc[l])
	p := b[12:]
	p[0] = 0x80 // X
	if first {
		p[0] |= 0x10 // S, partition 0
	}
	p[1] = 0x80 | 0x40 | 0x20 // I, L, T
	p[2] = 0x80 | byte(s.pid[l]>>8)&0x7f
	p[3] = byte(s.pid[l])
	p[4] = s.tl0[l]
	p[5] = tid << 6
	p[6] = 0x01 // frame tag: interframe
	if key {
		p[6] = 0x00
	}

	s.pkt.Header = rtp.Header{Version: 2, Marker: last, PayloadType: 96,
		SequenceNumber: s.seq[l], Timestamp: s.ts[l], SSRC: s.ssrc[l], Extensions: s.pkt.Extensions[:0]}
	s.pkt.Payload = p
	s.pkt.PaddingSize = 0

	s.seq[l]++
	s.inLay++
	if last {
		s.inLay = 0
		s.ts[l] += 3000
		s.pid[l] = (s.pid[l] + 1) & 0x7fff
		if tid == 0 {
			s.tl0[l]++
		}
		s.layer++
		if s.layer == s.layers {
			s.layer = 0
			s.frame++
		}
	}
	return l, b, &s.pkt
}

// countingSink is an RTPWriter that only counts; it is padded so that sinks
// written by different writer goroutines do not share a cache line.
type countingSink struct {
	n atomic.Uint64
	_ [56]byte
}

func (c *countingSink) WriteRTP(_ *rtp.Header, _ []byte) (int, error) {
	c.n.Add(1)
	return 0, nil
}

// fanout is an UpTrack with n bound DownTracks writing into counting sinks.
type fanout struct {
	up    *UpTrack
	downs []*DownTrack
	sinks []*countingSink
}

// layerFor spreads subscribers over the layers as a classroom does: half on
// f, a quarter each on h and q (the first one is always on f).
func layerFor(i int) livekit.VideoQuality {
	switch i % 4 {
	case 1:
		return livekit.VideoQuality_MEDIUM
	case 3:
		return livekit.VideoQuality_LOW
	default:
		return livekit.VideoQuality_HIGH
	}
}

func newFanout(tb testing.TB, n int) *fanout {
	tb.Helper()
	up := NewUpTrack(UpTrackConfig{
		Info: track.Info{SID: "TR_bench", Kind: webrtc.RTPCodecTypeVideo, Simulcast: true,
			Codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}},
		Layers: MaxLayers,
	})
	f := &fanout{up: up}
	for i := 0; i < n; i++ {
		d := NewDownTrack(up, layerFor(i))
		s := &countingSink{}
		if err := d.Bind(s, uint32(0x5000+i), 96, 0, 0); err != nil {
			tb.Fatal(err)
		}
		f.downs = append(f.downs, d)
		f.sinks = append(f.sinks, s)
	}
	tb.Cleanup(up.Close)
	return f
}

func (f *fanout) sent() uint64 {
	var t uint64
	for _, s := range f.sinks {
		t += s.n.Load()
	}
	return t
}

// queued is the largest number of handles waiting in any writer queue.
func (f *fanout) queued() int {
	most := 0
	for l := 0; l < f.up.nLayers; l++ {
		ws := f.up.layers[l].snapshot.Load()
		if ws == nil {
			continue
		}
		for _, w := range *ws {
			most = max(most, len(w.ch))
		}
	}
	return most
}

// drain waits until every writer queue is empty and, with want > 0, until
// the sinks have counted want packets.
func (f *fanout) drain(want uint64) {
	for f.queued() > 0 || (want > 0 && f.sent() < want) {
		runtime.Gosched()
	}
}

// throttle keeps the producer from overrunning the writers: a benchmark
// measures forwarding, not the slow-subscriber drop policy.
func (f *fanout) throttle() {
	if f.queued() < writerQueue/2 {
		return
	}
	for f.queued() > writerQueue/8 {
		runtime.Gosched()
	}
}

// expected is how many packets the subscribers receive per packet written
// in steady state on each layer.
func (f *fanout) perLayer() [MaxLayers]int {
	var c [MaxLayers]int
	for _, d := range f.downs {
		if l := d.TargetLayer(); l >= 0 {
			c[l]++
		}
	}
	return c
}
