// publish-file joins a room and publishes a looping media file: a VP8 IVF, an H.264 Annex-B stream
// or an Ogg/Opus file, or three VP8 IVF files as q/h/f simulcast layers.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/client-sdk/go/media"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:7880", "server URL")
	token := flag.String("token", os.Getenv("LIVEKIT_TOKEN"), "access token (default $LIVEKIT_TOKEN)")
	file := flag.String("file", "", "media file (.ivf, .h264, .ogg)")
	simulcast := flag.String("simulcast", "", "comma-separated q,h,f VP8 IVF files (low to high)")
	flag.Parse()
	if err := run(*url, *token, *file, *simulcast); err != nil {
		fmt.Fprintln(os.Stderr, "publish-file:", err)
		os.Exit(1)
	}
}

func run(url, token, file, simulcast string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	room, err := client.Connect(ctx, url, token, client.WithLogger(log))
	if err != nil {
		return err
	}
	defer room.Close()

	var files []string
	if simulcast != "" {
		files = strings.Split(simulcast, ",")
	} else {
		files = []string{file}
	}
	srcs := make([]media.Source, len(files))
	for i, f := range files {
		if srcs[i], err = media.OpenFile(f, 25); err != nil {
			return err
		}
		defer srcs[i].Close()
	}
	codec := webrtc.RTPCodecCapability{MimeType: srcs[0].MimeType(), ClockRate: 90000}
	if codec.MimeType == webrtc.MimeTypeOpus {
		codec.ClockRate, codec.Channels = 48000, 2
	}
	rids := []string{"q", "h", "f"}
	tracks := make([]*webrtc.TrackLocalStaticSample, len(srcs))
	var lt *client.LocalTrack
	if len(srcs) == 1 {
		if tracks[0], err = webrtc.NewTrackLocalStaticSample(codec, "file", "publish-file"); err != nil {
			return err
		}
		lt, err = room.PublishTrack(ctx, tracks[0], client.PublishOptions{Name: file})
	} else {
		var layers []client.SimulcastLayer
		for i, s := range srcs {
			if tracks[i], err = webrtc.NewTrackLocalStaticSample(codec, "file", "publish-file", webrtc.WithRTPStreamID(rids[i])); err != nil {
				return err
			}
			ivf := s.(*media.IVFSource)
			layers = append(layers, client.SimulcastLayer{Track: tracks[i], Quality: livekit.VideoQuality(i),
				Width: uint32(ivf.Width), Height: uint32(ivf.Height)})
		}
		lt, err = room.PublishSimulcast(ctx, layers, client.PublishOptions{Name: "simulcast"})
	}
	if err != nil {
		return err
	}
	log.Info("published", "sid", lt.SID())
	errs := make(chan error, len(srcs))
	for i, s := range srcs {
		q := livekit.VideoQuality(i)
		go func() {
			errs <- media.Pump(ctx, s, tracks[i], func() bool { return lt.Muted() || !lt.LayerEnabled(q) })
		}()
	}
	select {
	case err := <-errs:
		return err
	case <-room.Done():
		return room.Err()
	}
}
