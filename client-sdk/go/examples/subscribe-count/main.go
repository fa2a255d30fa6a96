// subscribe-count joins a room (optionally as many participants), auto-subscribes to every track and
// prints per-track packet, frame, keyframe and resolution counts every few seconds: a minimal load
// tester and a check of which simulcast layer arrives.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	client "github.com/classcast/classcast/client-sdk/go"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:7880", "server URL")
	token := flag.String("token", os.Getenv("LIVEKIT_TOKEN"), "access token; with -n > 1 each participant needs its own identity, so pass a comma-free token template via $LIVEKIT_TOKEN_<i> instead")
	n := flag.Int("n", 1, "number of subscribers in this process")
	every := flag.Duration("every", 5*time.Second, "report interval")
	flag.Parse()
	if err := run(*url, *token, *n, *every); err != nil {
		fmt.Fprintln(os.Stderr, "subscribe-count:", err)
		os.Exit(1)
	}
}

func run(url, token string, n int, every time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// One receive-only API for all subscribers: shared media engine, no NACK responder buffers.
	api, err := client.NewAPI(client.APIConfig{ReceiveOnly: true})
	if err != nil {
		return err
	}
	var rooms []*client.Room
	defer func() {
		for _, r := range rooms {
			_ = r.Close()
		}
	}()
	for i := 0; i < n; i++ {
		tok := token
		if n > 1 {
			tok = os.Getenv(fmt.Sprintf("LIVEKIT_TOKEN_%d", i))
		}
		r, err := client.Connect(ctx, url, tok, client.WithAPI(api), client.WithAutoDrain(),
			client.WithCallbacks(client.Callbacks{
				OnTrackSubscribed: func(t *client.RemoteTrack) {
					fmt.Printf("subscribed %s from %s (%s)\n", t.SID, t.ParticipantIdentity, t.Codec().MimeType)
				},
			}))
		if err != nil {
			return fmt.Errorf("subscriber %d: %w", i, err)
		}
		rooms = append(rooms, r)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		for i, r := range rooms {
			for _, t := range r.RemoteTracks() {
				s := t.Stats()
				fmt.Printf("sub%d %s %-10s pkts=%d bytes=%d frames=%d key=%d size=%dx%d latency=%v lost=%d\n",
					i, t.SID, t.Codec().MimeType, s.Packets, s.Bytes, s.Frames, s.Keyframes, s.Width, s.Height,
					s.LatencyMean(), s.SyntheticLost)
			}
		}
	}
}
