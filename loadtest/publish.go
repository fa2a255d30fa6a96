package loadtest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/client-sdk/go/media"
)

// videoSpec is one synthetic video encoding.
type videoSpec struct {
	rid           string
	quality       livekit.VideoQuality
	width, height int
	bitrate       int // bit/s, keyframes included
	fps           int
	keyInterval   int // frames
}

// Realistic per-layer figures for a 720p camera (livekit-client's defaults are close: 180p ~150k,
// 360p ~500k, 720p ~1.7M) and a slide-style screen share.
var (
	cameraLayers = []videoSpec{
		{"q", livekit.VideoQuality_LOW, 320, 180, 150_000, 25, 25},
		{"h", livekit.VideoQuality_MEDIUM, 640, 360, 500_000, 25, 25},
		{"f", livekit.VideoQuality_HIGH, 1280, 720, 1_500_000, 25, 25},
	}
	whiteboardSpec = videoSpec{"", livekit.VideoQuality_HIGH, 1920, 1080, 400_000, 5, 10}
	classViewSpec  = videoSpec{"", livekit.VideoQuality_LOW, 320, 180, 150_000, 15, 15}
	stageSpec      = videoSpec{"", livekit.VideoQuality_MEDIUM, 640, 360, 500_000, 25, 25}
)

// Opus-sized audio: 20 ms packets (50 per second) of 80 bytes, about 32 kbit/s.
const audioPacketSize = 80

// keyframeFactor is how much larger a keyframe is than an interframe (the synthetic source's default).
const keyframeFactor = 4

func (v videoSpec) source() *media.SyntheticSource {
	// bitrate/8/fps bytes per frame on average, with one frame in keyInterval keyframeFactor times larger.
	perFrame := float64(v.bitrate) / 8 / float64(v.fps)
	size := perFrame / (1 + float64(keyframeFactor-1)/float64(v.keyInterval))
	return media.NewSyntheticSource(media.SyntheticConfig{
		FPS: v.fps, KeyframeInterval: v.keyInterval, Width: v.width, Height: v.height,
		FrameSize: int(size), KeyframeSize: keyframeFactor * int(size),
	})
}

// publisher owns the pump goroutines of one participant's tracks.
// Publishing calls take the join's (bounded) context; pumps run on ctx, the run's media context.
type publisher struct {
	room *client.Room
	wg   *sync.WaitGroup
	ctx  context.Context
}

func (p publisher) pump(src media.Source, w media.SampleWriter, skip func() bool) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		_ = media.Pump(p.ctx, src, w, skip) // ends with ctx; write errors end the track, counted as loss downstream
	}()
}

// simulcast publishes a camera with every layer of specs; paused layers (dynacast) send nothing.
func (p publisher) simulcast(ctx context.Context, name, stream string, specs []videoSpec) error {
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	layers := make([]client.SimulcastLayer, len(specs))
	tracks := make([]*webrtc.TrackLocalStaticSample, len(specs))
	for i, s := range specs {
		tr, err := webrtc.NewTrackLocalStaticSample(codec, name, stream, webrtc.WithRTPStreamID(s.rid))
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrNoMedia, name, err)
		}
		tracks[i] = tr
		layers[i] = client.SimulcastLayer{Track: tr, Quality: s.quality, Width: uint32(s.width), Height: uint32(s.height), Bitrate: uint32(s.bitrate)}
	}
	lt, err := p.room.PublishSimulcast(ctx, layers, client.PublishOptions{Name: name, Source: livekit.TrackSource_CAMERA})
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNoMedia, name, err)
	}
	for i, s := range specs {
		q := s.quality
		p.pump(s.source(), tracks[i], func() bool { return lt.Muted() || !lt.LayerEnabled(q) })
	}
	return nil
}

// video publishes one single-layer synthetic video.
func (p publisher) video(ctx context.Context, name, stream string, source livekit.TrackSource, s videoSpec) error {
	tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, name, stream)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNoMedia, name, err)
	}
	lt, err := p.room.PublishTrack(ctx, tr, client.PublishOptions{
		Name: name, Source: source, Width: uint32(s.width), Height: uint32(s.height),
	})
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNoMedia, name, err)
	}
	p.pump(s.source(), tr, lt.Muted)
	return nil
}

// audio publishes synthetic Opus-sized packets at 50 per second.
func (p publisher) audio(ctx context.Context, name, stream string) error {
	tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, name, stream)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNoMedia, name, err)
	}
	lt, err := p.room.PublishTrack(ctx, tr, client.PublishOptions{Name: name, Source: livekit.TrackSource_MICROPHONE, DisableRED: true})
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNoMedia, name, err)
	}
	src := media.NewSyntheticSource(media.SyntheticConfig{Audio: true, FrameSize: audioPacketSize})
	p.pump(src, tr, lt.Muted)
	return nil
}

// publishTimeout bounds one participant's publishing (signal round trips plus negotiation).
const publishTimeout = 20 * time.Second
