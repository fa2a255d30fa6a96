// Package forward is the SFU's media hot path: one reader per incoming
// stream stores each packet once in a shared per-layer cache and hands small
// (seq, slot) handles to a bounded pool of writer goroutines, each of which
// serves a group of subscribers' down tracks. Nothing here allocates per
// packet, and no lock shared between subscribers is held while writing.
package forward

import (
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/sfu/codec"
	"github.com/classcast/classcast/sfu/packetcache"
	"github.com/classcast/classcast/sfu/track"
)

// MaxLayers is the number of simulcast spatial layers (q, h, f).
const MaxLayers = 3

// MaxTemporal is how many VP8 temporal layers (TIDs 0–3) are told apart.
const MaxTemporal = 4

const (
	// keyframeMergeWindow: keyframe requests for one layer closer together
	// than this are merged into one PLI. Hundreds of classrooms joining at
	// once would otherwise storm the master camera with keyframe requests.
	keyframeMergeWindow = 250 * time.Millisecond
	// layerIdleAfter: a layer that has sent nothing for this long counts as
	// not being received (the publisher paused it, or its uplink shrank).
	layerIdleAfter = 1500 * time.Millisecond
	monitorEvery   = 250 * time.Millisecond
)

// UpTrackConfig configures an UpTrack.
type UpTrackConfig struct {
	Info track.Info
	// Layers is the number of spatial layers (1 for audio and non-simulcast video).
	Layers int
	// RequestKeyframe asks the publisher for a keyframe of a layer. It is
	// called at most once per layer per keyframeMergeWindow.
	RequestKeyframe func(layer int)
	// AudioLevelExtID is the negotiated RTP header extension id of the
	// RFC 6464 audio level (0 when not negotiated).
	AudioLevelExtID uint8
	Metrics         *Metrics
	Logger          *slog.Logger
}

// UpTrack is one published track: 1..MaxLayers incoming RTP streams, each
// with its own packet cache and writer pool.
type UpTrack struct {
	info      track.Info
	mime      string
	codec     codec.Codec
	kind      codecKind
	clockRate uint32
	nLayers   int
	layers    [MaxLayers]*upLayer
	requestKF func(layer int)
	levelExt  uint8
	metrics   *Metrics
	log       *slog.Logger

	audioLevel atomic.Uint32 // last RFC 6464 level (0 loudest … 127 silent)
	attached   atomic.Int32  // consumers attached through Attach
	muted      atomic.Bool

	mu     sync.Mutex
	downs  map[*DownTrack]struct{} // every attached down track
	active uint8                   // bitmask of layers currently received
	closed bool
	// rawCount counts raw layer attachments per layer (layer.go).
	rawCount [MaxLayers]int

	quit chan struct{}
	wg   sync.WaitGroup
}

type codecKind uint8

const (
	kindAudio codecKind = iota
	kindVP8
	kindOtherVideo
)

// NewUpTrack creates the track and starts its monitor.
func NewUpTrack(cfg UpTrackConfig) *UpTrack {
	if cfg.Layers < 1 {
		cfg.Layers = 1
	}
	if cfg.Layers > MaxLayers {
		cfg.Layers = MaxLayers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.RequestKeyframe == nil {
		cfg.RequestKeyframe = func(int) {}
	}
	u := &UpTrack{
		info:      cfg.Info,
		mime:      cfg.Info.Codec.MimeType,
		codec:     codec.FromMime(cfg.Info.Codec.MimeType),
		clockRate: cfg.Info.Codec.ClockRate,
		nLayers:   cfg.Layers,
		requestKF: cfg.RequestKeyframe,
		levelExt:  cfg.AudioLevelExtID,
		metrics:   cfg.Metrics,
		log:       cfg.Logger,
		downs:     make(map[*DownTrack]struct{}),
		quit:      make(chan struct{}),
	}
	u.audioLevel.Store(127)
	switch {
	case cfg.Info.Kind == webrtc.RTPCodecTypeAudio:
		u.kind = kindAudio
	case strings.EqualFold(u.mime, webrtc.MimeTypeVP8):
		u.kind = kindVP8
	default:
		u.kind = kindOtherVideo
	}
	for i := 0; i < u.nLayers; i++ {
		size := 512
		if u.kind == kindAudio {
			size = 128
		}
		u.layers[i] = &upLayer{up: u, idx: i, cache: packetcache.New(size)}
	}
	u.wg.Add(1)
	go u.monitor()
	return u
}

// Info describes the track.
func (u *UpTrack) Info() track.Info { return u.info }

// Layers is the number of spatial layers.
func (u *UpTrack) Layers() int { return u.nLayers }

// AudioLevel is the last RFC 6464 level seen (0 loudest, 127 silence).
func (u *UpTrack) AudioLevel() uint8 { return uint8(u.audioLevel.Load()) }

// SetMuted records the publisher's mute state; down tracks keep their place
// and resume seamlessly.
func (u *UpTrack) SetMuted(m bool) { u.muted.Store(m) }

// Muted reports the publisher's mute state.
func (u *UpTrack) Muted() bool { return u.muted.Load() }

// ActiveLayers is the bitmask of layers currently being received.
func (u *UpTrack) ActiveLayers() uint8 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.active
}

// TemporalRates describes a layer's VP8 temporal layers: n is how many
// arrived lately (0 for streams without temporal layers), and bps[t] and
// fps[t] the bitrate and frame rate of TIDs 0..t together.
func (u *UpTrack) TemporalRates(layer int) (bps [MaxTemporal]uint64, fps [MaxTemporal]int, n int) {
	if layer < 0 || layer >= u.nLayers {
		return bps, fps, 0
	}
	l := u.layers[layer]
	n = int(l.temporal.Load())
	var sumB uint64
	var sumF int
	for t := 0; t < n; t++ {
		sumB += l.tRate[t].Load()
		sumF += int(l.tFPS[t].Load())
		bps[t], fps[t] = sumB, sumF
	}
	return bps, fps, n
}

// LayerBitrate is the bitrate of a layer in bits per second: as received
// while it arrives, and as last received while it does not. A layer that
// stopped is priced at what it cost, not at its decaying rate — a stale,
// nearly free layer would be chosen and waited for, and one decayed to
// zero would count as never published, so nobody would ask dynacast for
// it again. 0 only for a layer never received.
func (u *UpTrack) LayerBitrate(layer int) uint64 {
	if layer < 0 || layer >= u.nLayers {
		return 0
	}
	return u.layers[layer].price.Load()
}

// WriteRTP feeds one received packet of a layer: raw is the packet's bytes
// and p the same packet parsed. Called by the layer's single reader.
func (u *UpTrack) WriteRTP(layer int, raw []byte, p *rtp.Packet) {
	if layer < 0 || layer >= u.nLayers {
		return
	}
	u.layers[layer].ingest(raw, p)
}

// RequestKeyframe asks for a keyframe of a layer, merged with other requests.
func (u *UpTrack) RequestKeyframe(layer int) {
	if layer < 0 || layer >= u.nLayers {
		return
	}
	u.metrics.KeyframeRequests.Inc()
	u.layers[layer].requestKeyframe()
}

// PacketAt copies a cached packet of a layer into dst (for NACK answers).
func (u *UpTrack) PacketAt(layer int, seq uint16, dst []byte) int {
	if layer < 0 || layer >= u.nLayers {
		return 0
	}
	return u.layers[layer].cache.Get(seq, dst)
}

// Close detaches every down track and stops the writers.
func (u *UpTrack) Close() {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return
	}
	u.closed = true
	downs := make([]*DownTrack, 0, len(u.downs))
	for d := range u.downs {
		downs = append(downs, d)
	}
	u.mu.Unlock()
	close(u.quit)
	for _, d := range downs {
		d.Close()
	}
	for i := 0; i < u.nLayers; i++ {
		u.layers[i].stopWriters()
	}
	u.wg.Wait()
}

func (u *UpTrack) addDown(d *DownTrack) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return false
	}
	u.downs[d] = struct{}{}
	return true
}

func (u *UpTrack) removeDown(d *DownTrack) {
	u.mu.Lock()
	delete(u.downs, d)
	u.mu.Unlock()
}

// monitor tracks which layers are being received and their bitrates, and
// tells down tracks when the set changes so none waits for a layer that is
// gone.
func (u *UpTrack) monitor() {
	defer u.wg.Done()
	t := time.NewTicker(monitorEvery)
	defer t.Stop()
	for {
		select {
		case <-u.quit:
			return
		case now := <-t.C:
			u.updateLayers(now)
		}
	}
}

func (u *UpTrack) updateLayers(now time.Time) {
	var mask uint8
	for i := 0; i < u.nLayers; i++ {
		l := u.layers[i]
		l.updateBitrate(now)
		if last := l.lastPacket.Load(); last != 0 && now.UnixNano()-last < int64(layerIdleAfter) {
			mask |= 1 << i
			l.price.Store(l.bitrate.Load())
		} else {
			l.price.Store(l.held.Load())
		}
	}
	u.mu.Lock()
	changed := mask != u.active
	u.active = mask
	var downs []*DownTrack
	if changed {
		downs = make([]*DownTrack, 0, len(u.downs))
		for d := range u.downs {
			downs = append(downs, d)
		}
	}
	u.mu.Unlock()
	for _, d := range downs {
		d.layersChanged(mask)
	}
}

// upLayer is one incoming RTP stream (one simulcast encoding).
type upLayer struct {
	up    *UpTrack
	idx   int
	cache *packetcache.Cache

	lastPacket atomic.Int64 // unix nanos of the last packet
	packets    atomic.Uint64
	bytes      atomic.Uint64
	bitrate    atomic.Uint64
	// held is the bitrate as last measured while packets arrived: what the
	// layer costs when the publisher sends it again after a pause
	// (dynacast switched it off, the encoder dropped it under load).
	held atomic.Uint64
	// price is what LayerBitrate reports, set by the monitor: bitrate while
	// the layer is active, held after.
	price   atomic.Uint64
	lastPLI atomic.Int64

	// Per VP8 temporal layer (TID) of this stream: bytes and frames
	// counted by the reader, rates computed by the monitor. temporal is
	// how many TIDs arrived in the last interval (0: no temporal layers).
	tBytes   [MaxTemporal]atomic.Uint64
	tFrames  [MaxTemporal]atomic.Uint64
	tRate    [MaxTemporal]atomic.Uint64
	tFPS     [MaxTemporal]atomic.Uint32
	temporal atomic.Uint32

	// rateBytes/rateAt are owned by the monitor goroutine.
	rateBytes  uint64
	rateAt     time.Time
	tRateBytes [MaxTemporal]uint64
	tRateFrms  [MaxTemporal]uint64
	tLastSeen  [MaxTemporal]time.Time

	mu      sync.Mutex
	writers []*writer // guarded by mu; the reader iterates snapshot
	// snapshot is the copy-on-write list the reader iterates without a lock.
	snapshot atomic.Pointer[[]*writer]
}

// ingest stores a packet once and hands its handle to every writer group.
func (l *upLayer) ingest(raw []byte, p *rtp.Packet) {
	u := l.up
	m := u.metrics
	m.PacketsIn.Inc()
	m.BytesIn.Add(float64(len(raw)))
	l.bytes.Add(uint64(len(raw)))
	l.packets.Add(1)
	now := time.Now().UnixNano()
	l.lastPacket.Store(now)

	h := handle{seq: p.SequenceNumber, arrival: now}
	if len(p.Payload) == 0 {
		// Padding-only (bandwidth probes): nothing to forward, but its
		// sequence number must not show up as a gap downstream.
		h.padding = true
	} else {
		switch u.kind {
		case kindAudio:
			if lvl, ok := audioLevel(p, u.levelExt); ok {
				u.audioLevel.Store(uint32(lvl))
			}
		case kindVP8:
			h.keyframe = u.codec.KeyframeStart(p.Payload)
			l.countTemporal(p.Payload, len(raw))
		case kindOtherVideo:
			h.keyframe = u.codec.KeyframeStart(p.Payload)
		}
		idx, err := l.cache.Store(p.SequenceNumber, p.Timestamp, h.keyframe, p.Marker, raw)
		if err != nil {
			return
		}
		h.index = idx
	}
	ws := l.snapshot.Load()
	if ws == nil {
		return
	}
	for _, w := range *ws {
		w.enqueue(h)
	}
}

func audioLevel(p *rtp.Packet, id uint8) (uint8, bool) {
	if id == 0 || !p.Extension {
		return 0, false
	}
	lvl, _, ok := codec.ParseAudioLevel(p.GetExtension(id))
	return lvl, ok
}

func (l *upLayer) requestKeyframe() {
	now := time.Now().UnixNano()
	last := l.lastPLI.Load()
	if now-last < int64(keyframeMergeWindow) {
		return
	}
	if !l.lastPLI.CompareAndSwap(last, now) {
		return // another subscriber's request won the race: merged
	}
	l.up.metrics.PLIs.Inc()
	l.up.requestKF(l.idx)
}

// countTemporal counts a VP8 packet's bytes (and frame starts) for its
// temporal layer, so that the allocator can price "this spatial layer at
// TL0 only" against "with every temporal layer".
func (l *upLayer) countTemporal(payload []byte, size int) {
	d, err := codec.ParseVP8(payload)
	if err != nil || !d.HasTID {
		return
	}
	tid := min(int(d.TID), MaxTemporal-1)
	l.tBytes[tid].Add(uint64(size))
	if d.Start && d.PartitionID == 0 {
		l.tFrames[tid].Add(1)
	}
}

func (l *upLayer) updateBitrate(now time.Time) {
	b := l.bytes.Load()
	if !l.rateAt.IsZero() {
		if dt := now.Sub(l.rateAt).Seconds(); dt > 0 {
			inst := float64(b-l.rateBytes) * 8 / dt
			old := float64(l.bitrate.Load())
			// Smooth over about a second: simulcast bitrates swing per frame.
			l.bitrate.Store(uint64(old*0.7 + inst*0.3))
			if b != l.rateBytes && now.UnixNano()-l.lastPacket.Load() < int64(layerIdleAfter) {
				l.held.Store(l.bitrate.Load())
			}
			l.updateTemporal(now, dt)
		}
	}
	l.rateBytes, l.rateAt = b, now
	for t := range MaxTemporal {
		l.tRateBytes[t], l.tRateFrms[t] = l.tBytes[t].Load(), l.tFrames[t].Load()
	}
}

// updateTemporal smooths the per-TID bitrates and frame rates over the
// interval dt (seconds) and counts the TIDs seen lately: a TID counts for
// layerIdleAfter after its last packet, so a low frame rate does not make
// the temporal structure flicker between intervals.
func (l *upLayer) updateTemporal(now time.Time, dt float64) {
	seen := 0
	for t := range MaxTemporal {
		bytes := l.tBytes[t].Load() - l.tRateBytes[t]
		frames := l.tFrames[t].Load() - l.tRateFrms[t]
		if bytes > 0 {
			l.tLastSeen[t] = now
		}
		if !l.tLastSeen[t].IsZero() && now.Sub(l.tLastSeen[t]) < layerIdleAfter {
			seen = t + 1
		}
		inst := float64(bytes) * 8 / dt
		l.tRate[t].Store(uint64(float64(l.tRate[t].Load())*0.7 + inst*0.3))
		fps := float64(frames) / dt
		l.tFPS[t].Store(uint32(float64(l.tFPS[t].Load())*0.7 + fps*0.3 + 0.5))
	}
	l.temporal.Store(uint32(seen))
}
