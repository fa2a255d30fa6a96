// send-data joins a room, prints every data packet it receives and sends each line of stdin as a
// reliable user packet (to everyone, or to -to identities) on a topic.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	client "github.com/classcast/classcast/client-sdk/go"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:7880", "server URL")
	token := flag.String("token", os.Getenv("LIVEKIT_TOKEN"), "access token (default $LIVEKIT_TOKEN)")
	to := flag.String("to", "", "comma-separated destination identities (default everyone)")
	topic := flag.String("topic", "chat", "topic")
	lossy := flag.Bool("lossy", false, "send on the lossy channel")
	flag.Parse()
	if err := run(*url, *token, *to, *topic, *lossy); err != nil {
		fmt.Fprintln(os.Stderr, "send-data:", err)
		os.Exit(1)
	}
}

func run(url, token, to, topic string, lossy bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	room, err := client.Connect(ctx, url, token, client.WithCallbacks(client.Callbacks{
		OnData: func(m client.DataMessage) {
			fmt.Printf("[%s] %s: %s\n", m.Topic, m.SenderIdentity, m.Payload)
		},
	}))
	if err != nil {
		return err
	}
	defer room.Close()
	var dest []string
	if to != "" {
		dest = strings.Split(to, ",")
	}
	kind := client.Reliable
	if lossy {
		kind = client.Lossy
	}
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		if err := room.SendData(ctx, lines.Bytes(), kind, dest, topic); err != nil {
			return err
		}
	}
	return lines.Err()
}
