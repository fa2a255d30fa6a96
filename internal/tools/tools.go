//go:build tools

// Package tools pins dependencies that are wired in gradually, so go mod tidy keeps them.
package tools

import (
	_ "github.com/bluenviron/gortsplib/v4"
	_ "github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	_ "github.com/coder/websocket"
	_ "github.com/livekit/protocol/auth"
	_ "github.com/livekit/protocol/livekit"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go"
	_ "github.com/pion/interceptor"
	_ "github.com/pion/webrtc/v4"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/quic-go/quic-go"
	_ "go.uber.org/goleak"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)
