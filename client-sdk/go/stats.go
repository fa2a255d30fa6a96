package client

import (
	"sync/atomic"
	"time"

	"github.com/classcast/classcast/client-sdk/go/media"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TrackStats is a snapshot of what arrived on a RemoteTrack (counted by ReadPacket/Observe).
type TrackStats struct {
	Packets uint64
	Bytes   uint64 // RTP packet bytes
	// Frames counts video frames (RTP marker bits) or audio packets.
	Frames    uint64
	Keyframes uint64
	// Width and Height are from the latest VP8 keyframe header (0 for other codecs): 320x180 vs
	// 1280x720 tells which simulcast layer is arriving.
	Width, Height int
	FirstPacketAt time.Time
	LastPacketAt  time.Time
	// Synthetic frames (media.SyntheticSource): how many, the latency from their send timestamp
	// (sender and receiver share a clock in load tests) and sequence gaps.
	SyntheticFrames uint64
	LatencySum      time.Duration
	LatencyMax      time.Duration
	SyntheticLost   uint64
}

// LatencyMean is LatencySum / SyntheticFrames.
func (s TrackStats) LatencyMean() time.Duration {
	if s.SyntheticFrames == 0 {
		return 0
	}
	return s.LatencySum / time.Duration(s.SyntheticFrames)
}

// trackAtomics are written by the one goroutine reading the track and read by anyone.
type trackAtomics struct {
	packets, bytes, frames, keyframes atomic.Uint64
	size                              atomic.Uint64 // width<<32 | height
	first, last                       atomic.Int64  // unix ns
	synthFrames, synthLost            atomic.Uint64
	latencySum, latencyMax            atomic.Int64
	synthNext                         atomic.Uint64 // expected next sequence + 1 (0 = none yet)
}

// Stats returns a snapshot of the track's counters.
func (t *RemoteTrack) Stats() TrackStats {
	a := &t.stats
	size := a.size.Load()
	s := TrackStats{
		Packets: a.packets.Load(), Bytes: a.bytes.Load(), Frames: a.frames.Load(),
		Keyframes: a.keyframes.Load(), Width: int(size >> 32), Height: int(size & 0xffffffff),
		SyntheticFrames: a.synthFrames.Load(), SyntheticLost: a.synthLost.Load(),
		LatencySum: time.Duration(a.latencySum.Load()), LatencyMax: time.Duration(a.latencyMax.Load()),
	}
	if v := a.first.Load(); v != 0 {
		s.FirstPacketAt = time.Unix(0, v)
	}
	if v := a.last.Load(); v != 0 {
		s.LastPacketAt = time.Unix(0, v)
	}
	return s
}

// Observe counts one received packet of n bytes. ReadPacket calls it; call it yourself when reading
// Track directly. It must be called from one goroutine per track and allocates nothing.
func (t *RemoteTrack) Observe(pkt *rtp.Packet, n int, now time.Time) {
	a := &t.stats
	ns := now.UnixNano()
	if a.packets.Add(1) == 1 {
		a.first.Store(ns)
	}
	a.bytes.Add(uint64(n))
	a.last.Store(ns)
	switch t.payload {
	case payloadVP8:
		t.observeVP8(pkt, now)
	case payloadH264:
		if media.H264Keyframe(pkt.Payload) {
			a.keyframes.Add(1)
		}
		if pkt.Marker {
			a.frames.Add(1)
		}
	case payloadOpus:
		a.frames.Add(1)
		if len(pkt.Payload) > 1 {
			t.observeSynthetic(pkt.Payload, true, now)
		}
	default:
		if pkt.Marker || t.Kind != webrtc.RTPCodecTypeVideo { // audio: one frame per packet
			a.frames.Add(1)
		}
	}
}

func (t *RemoteTrack) observeVP8(pkt *rtp.Packet, now time.Time) {
	a := &t.stats
	if pkt.Marker {
		a.frames.Add(1)
	}
	info, err := media.InspectVP8(pkt.Payload)
	if err != nil || !info.FrameStart {
		return
	}
	if info.Keyframe {
		a.keyframes.Add(1)
		if info.Width > 0 {
			a.size.Store(uint64(info.Width)<<32 | uint64(info.Height))
		}
	}
	t.observeSynthetic(pkt.Payload[info.HeaderLen:], false, now)
}

func (t *RemoteTrack) observeSynthetic(frame []byte, audio bool, now time.Time) {
	f, err := media.ParseSyntheticFrame(frame, audio)
	if err != nil {
		return
	}
	a := &t.stats
	a.synthFrames.Add(1)
	lat := now.Sub(f.SentAt)
	a.latencySum.Add(int64(lat))
	if int64(lat) > a.latencyMax.Load() {
		a.latencyMax.Store(int64(lat))
	}
	next := a.synthNext.Load()
	// Gaps forward count as lost; a jump backwards (publisher restarted) just resynchronises.
	if next != 0 && uint64(f.Sequence)+1 > next {
		a.synthLost.Add(uint64(f.Sequence) + 1 - next)
	}
	a.synthNext.Store(uint64(f.Sequence) + 2)
}
