// Package trackwriter records one RTP track to fragmented MP4 without
// transcoding. A Writer is an RTP consumer (track.RTPWriter and
// track.SenderReportWriter): WriteRTP copies each packet into a bounded
// queue and returns at once; the Run goroutine reorders (jitter buffer),
// depacketizes and writes fragments of at most MaxFragment, each fsynced.
package trackwriter

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/classcast/classcast/recorder/fmp4x"
)

// Config configures a Writer. The zero value of every optional field is valid.
type Config struct {
	Dir   string      // directory of the part files (must exist)
	Name  string      // base name of the part files, e.g. the track SID
	Codec fmp4x.Codec // stored codec
	// Channels of an audio track. It defaults to 2 for Opus, 1 for G.711.
	Channels int
	// FmtpLine is the SDP fmtp of the track; H.264 sprop-parameter-sets in
	// it are used until in-band SPS/PPS arrive.
	FmtpLine string
	// Epoch is time zero of the recording; every track's decode times count
	// from it so that all tracks share one timeline.
	Epoch time.Time
	// RequestKeyframe asks the publisher for a keyframe. It may be nil.
	RequestKeyframe func()
	// QueueSize is the number of packet slots between WriteRTP and the
	// writer goroutine. It defaults to 512 (about 0.5 s of 720p video).
	QueueSize int
	// JitterDelay is how long a gap is waited for (NACK retransmission)
	// before it is skipped and counted lost. It defaults to 300 ms.
	JitterDelay time.Duration
	// MaxFragment caps a fragment's duration. It defaults to 2 s for video
	// (a fragment also ends at a keyframe after 1 s) and 1 s for audio.
	MaxFragment time.Duration
	// NoSync skips the fsync after each fragment (benchmarks only).
	NoSync bool
	// Now is the clock. It defaults to time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Stats are a writer's counters.
type Stats struct {
	Packets   uint64 // accepted by WriteRTP
	Dropped   uint64 // refused by WriteRTP: queue full
	Oversize  uint64 // refused by WriteRTP: payload over 1500 bytes
	Lost      uint64 // sequence numbers given up on by the jitter buffer
	Late      uint64 // arrived after their slot was skipped, or duplicates
	Frames    uint64 // samples written
	Fragments uint64
	Bytes     uint64
}

type atomicStats struct {
	packets, dropped, oversize, lost, late, frames, fragments, bytes atomic.Uint64
}

// Writer records one track. Create it with New, start Run in a goroutine,
// attach it to the track, and cancel Run's context to finish the file.
type Writer struct {
	cfg   Config
	now   func() time.Time
	log   *slog.Logger
	free  chan *slot
	ready chan *slot
	stats atomicStats

	srMu sync.Mutex
	sr   senderReport

	// owned by the Run goroutine
	jit       jitter
	dep       depacketizer
	emit      func(frame)
	seg       segmenter
	parts     []PartInfo
	err       error
	arrival   time.Time
	waitKey   bool
	lastKFReq time.Time
	clock     clockState
	sps, pps  []byte // of the open part (H.264)
	w, h      int    // of the open part (VP8/VP9, H.264)
	lastDts   uint64
	nominal   uint64
	maxFrag   uint64
	minFrag   uint64
	maxGap    uint64
}

// New validates cfg and allocates the packet slots.
func New(cfg Config) (*Writer, error) {
	if cfg.Dir == "" || cfg.Name == "" || strings.ContainsAny(cfg.Name, `/\`) {
		return nil, fmt.Errorf("%w: Dir and a plain Name are required", ErrBadConfig)
	}
	dep, err := newDepacketizer(cfg.Codec)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", err, cfg.Codec)
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 512
	}
	if cfg.JitterDelay <= 0 {
		cfg.JitterDelay = 300 * time.Millisecond
	}
	if cfg.MaxFragment <= 0 {
		cfg.MaxFragment = 2 * time.Second
		if !cfg.Codec.IsVideo() {
			cfg.MaxFragment = time.Second
		}
	}
	if cfg.Channels <= 0 {
		cfg.Channels = map[bool]int{true: 2, false: 1}[cfg.Codec == fmp4x.CodecOpus]
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	w := &Writer{
		cfg: cfg, now: cfg.Now, log: cfg.Logger.With("track", cfg.Name),
		free: make(chan *slot, cfg.QueueSize), ready: make(chan *slot, cfg.QueueSize),
		dep: dep,
	}
	for range cfg.QueueSize {
		w.free <- &slot{}
	}
	w.jit.maxDelay = cfg.JitterDelay
	w.emit = w.onFrame
	w.seg.noSync = cfg.NoSync
	ts := uint64(cfg.Codec.TimeScale())
	w.maxFrag = uint64(cfg.MaxFragment) * ts / uint64(time.Second)
	w.minFrag = w.maxFrag / 2
	w.maxGap = ts // a jump over 1 s (mute, long loss) starts a new fragment
	w.nominal = map[fmp4x.Codec]uint64{fmp4x.CodecOpus: 960, fmp4x.CodecPCMU: 160, fmp4x.CodecPCMA: 160}[cfg.Codec]
	if w.nominal == 0 {
		w.nominal = 3000
	}
	if cfg.Codec == fmp4x.CodecH264 {
		w.loadSprop(cfg.FmtpLine)
	}
	return w, nil
}

// Stats returns a snapshot of the counters; safe from any goroutine.
func (w *Writer) Stats() Stats {
	s := &w.stats
	return Stats{
		Packets: s.packets.Load(), Dropped: s.dropped.Load(), Oversize: s.oversize.Load(),
		Lost: s.lost.Load(), Late: s.late.Load(), Frames: s.frames.Load(),
		Fragments: s.fragments.Load(), Bytes: s.bytes.Load(),
	}
}

// Parts lists the files written. Call it after Run has returned.
func (w *Writer) Parts() []PartInfo { return w.parts }

// Run processes packets until ctx is done (then it writes what is held and
// closes the file, returning nil) or a write fails (returning an error
// wrapping ErrWrite; the file keeps every complete fragment).
func (w *Writer) Run(ctx context.Context) error {
	defer w.closePart()
	if w.cfg.Codec.IsVideo() {
		w.requestKeyframe(true)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for w.err == nil {
		select {
		case s := <-w.ready:
			w.receive(s)
		case <-tick.C:
			w.service(false)
		case <-ctx.Done():
			w.finish()
			return w.err
		}
	}
	return w.err
}

func (w *Writer) finish() {
	for {
		select {
		case s := <-w.ready:
			w.receive(s)
			continue
		default:
		}
		break
	}
	w.service(true)
	if w.seg.f != nil && w.err == nil && len(w.seg.samples) > 0 {
		w.fail(w.seg.flush(w.lastDts + w.nominal))
	}
}

func (w *Writer) release(s *slot) { w.free <- s }

func (w *Writer) receive(s *slot) {
	r := w.jit.push(s)
	if r == pushFar {
		// a jump beyond the buffer (publisher restart or a long outage):
		// give up on what is held and resynchronise on this packet.
		w.service(true)
		for w.jit.held > 0 {
			w.service(true)
		}
		w.jit.restart()
		w.onLoss()
		r = w.jit.push(s)
	}
	if r != pushed {
		w.stats.late.Add(1)
		w.release(s)
		return
	}
	w.service(false)
}

// service emits in-order packets and skips gaps that waited long enough.
func (w *Writer) service(force bool) {
	now := w.now()
	for {
		for s := w.jit.pop(); s != nil; s = w.jit.pop() {
			w.arrival = s.arrival
			w.dep.push(s, w.emit)
			w.release(s)
		}
		k := w.jit.skipGap(now, force)
		if k == 0 {
			return
		}
		w.stats.lost.Add(uint64(k))
		w.onLoss()
	}
}

func (w *Writer) onLoss() {
	w.dep.reset()
	if w.cfg.Codec.IsVideo() {
		w.waitKey = true
		w.requestKeyframe(false)
	}
}

func (w *Writer) requestKeyframe(force bool) {
	now := w.now()
	if w.cfg.RequestKeyframe == nil || (!force && now.Sub(w.lastKFReq) < time.Second) {
		return
	}
	w.lastKFReq = now
	w.cfg.RequestKeyframe()
}

func (w *Writer) fail(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

func (w *Writer) loadSprop(fmtp string) {
	for _, kv := range strings.Split(fmtp, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || k != "sprop-parameter-sets" {
			continue
		}
		d := w.dep.(*h264Depack)
		for _, p := range strings.Split(v, ",") {
			if n, err := base64.StdEncoding.DecodeString(p); err == nil && len(n) > 0 {
				d.addNALU(n)
			}
		}
		d.au = d.au[:0]
	}
}

// paramsChanged tells whether a sync frame needs a new part (new init).
func (w *Writer) paramsChanged(f frame) bool {
	switch w.cfg.Codec {
	case fmp4x.CodecH264:
		d := w.dep.(*h264Depack)
		return !bytes.Equal(d.sps, w.sps) || !bytes.Equal(d.pps, w.pps)
	case fmp4x.CodecVP8, fmp4x.CodecVP9:
		return f.width != w.w || f.height != w.h
	}
	return false
}

func (w *Writer) openPart(f frame, dts uint64) {
	p := fmp4x.TrackParams{Codec: w.cfg.Codec, Channels: w.cfg.Channels, Width: f.width, Height: f.height}
	if w.cfg.Codec == fmp4x.CodecH264 {
		d := w.dep.(*h264Depack)
		w.sps, w.pps = append(w.sps[:0], d.sps...), append(w.pps[:0], d.pps...)
		p.SPS, p.PPS = w.sps, w.pps
		var sps h264.SPS
		if sps.Unmarshal(w.sps) == nil {
			p.Width, p.Height = sps.Width(), sps.Height()
		}
	}
	w.w, w.h = p.Width, p.Height
	init, err := fmp4x.BuildInit(p)
	if err != nil {
		w.fail(fmt.Errorf("%w: %w", ErrWrite, err))
		return
	}
	n := len(w.parts)
	info := PartInfo{
		File: PartName(w.cfg.Name, n), Index: n, Width: p.Width, Height: p.Height,
		TimeScale: w.cfg.Codec.TimeScale(), Start: dts, End: dts,
	}
	w.fail(w.seg.open(w.cfg.Dir, info, init))
}

func (w *Writer) closePart() {
	if w.seg.f == nil {
		return
	}
	w.fail(w.seg.close())
	w.parts = append(w.parts, w.seg.info)
}

// onFrame places one complete frame on the timeline and in a fragment.
func (w *Writer) onFrame(f frame) {
	if w.err != nil {
		return
	}
	dts, ok := w.clock.dts(f.ts, w)
	if !ok {
		return
	}
	video := w.cfg.Codec.IsVideo()
	if w.seg.f == nil || (f.sync && w.paramsChanged(f)) {
		if !w.canStartPart(f) {
			return
		}
		if w.seg.f != nil {
			w.fail(w.seg.flush(dts))
			w.closePart()
		}
		w.openPart(f, dts)
		w.waitKey = false
		if w.err != nil {
			return
		}
	} else if w.waitKey {
		if !f.sync {
			w.requestKeyframe(false)
			return
		}
		w.waitKey = false
	}
	if n := len(w.seg.samples); n > 0 {
		if dts <= w.lastDts {
			return // not after the previous frame: drop rather than corrupt
		}
		delta := dts - w.lastDts
		dur := w.seg.duration(dts)
		switch {
		case delta > w.maxGap:
			w.fail(w.seg.flush(w.lastDts + w.nominal))
		case video && f.sync && dur >= w.minFrag, dur+w.nominal/2 >= w.maxFrag:
			w.fail(w.seg.flush(dts))
		}
		if delta <= w.maxGap {
			w.nominal = delta
		}
		if n != len(w.seg.samples) {
			w.stats.fragments.Store(uint64(w.seg.info.Fragments) + w.doneFragments())
			w.stats.bytes.Store(uint64(w.seg.committed) + w.doneBytes())
		}
	}
	w.seg.add(dts, f.data, f.sync)
	w.lastDts = dts
	w.stats.frames.Add(1)
}

func (w *Writer) canStartPart(f frame) bool {
	if !w.cfg.Codec.IsVideo() {
		return true
	}
	if !f.sync {
		w.requestKeyframe(false)
		return false
	}
	if w.cfg.Codec == fmp4x.CodecH264 {
		d := w.dep.(*h264Depack)
		if len(d.sps) == 0 || len(d.pps) == 0 {
			w.requestKeyframe(false)
			return false
		}
	}
	return true
}

func (w *Writer) doneFragments() (n uint64) {
	for _, p := range w.parts {
		n += uint64(p.Fragments)
	}
	return n
}

func (w *Writer) doneBytes() (n uint64) {
	for _, p := range w.parts {
		n += uint64(p.Bytes)
	}
	return n
}
