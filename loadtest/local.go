package loadtest

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/classcast/classcast/sfu/node"
)

// localURL is the --url value that asks for an in-process node.
const localURL = "local"

// startLocalNode runs a dev node (devkey/secret) in this process on free ports at bind. The
// server's CPU then shares the process with the load generator: fine for the adaptation
// scenario (times, not CPU), not for capacity figures.
func startLocalNode(bind string, log *slog.Logger) (*node.Node, error) {
	cfg := node.Defaults()
	cfg.Dev = true
	cfg.Bind = bind
	cfg.Port, cfg.RTC.UDPPort, cfg.RTC.TCPPort = 0, 0, 0
	if err := cfg.Finish(); err != nil {
		return nil, fmt.Errorf("%w: local node: %w", ErrConfig, err)
	}
	n, err := node.Start(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("loadtest: local node: %w", err)
	}
	return n, nil
}

func closeLocalNode(n *node.Node) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = n.Close(ctx) // end of run; nothing to report it to
}
