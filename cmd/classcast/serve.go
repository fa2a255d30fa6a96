package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/classcast/classcast/sfu/node"
)

func version() string { return node.Version }

func runServe(args []string) error {
	cfg := node.Defaults()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: classcast serve [flags]

Runs SFU, LiveKit-compatible signaling, RoomService API, metrics and web app in one
process. Settings come from defaults, then --config FILE (YAML), then CLASSCAST_*
environment variables (CLASSCAST_PORT, CLASSCAST_UDP_PORT, CLASSCAST_TCP_PORT,
CLASSCAST_BIND, CLASSCAST_KEYS="key: secret", CLASSCAST_REGION, CLASSCAST_LOG_LEVEL,
CLASSCAST_S3_ENDPOINT, CLASSCAST_S3_BUCKET, CLASSCAST_S3_REGION, CLASSCAST_S3_ACCESS_KEY,
CLASSCAST_S3_SECRET_KEY, CLASSCAST_S3_PATH_STYLE, CLASSCAST_S3_PREFIX, CLASSCAST_S3_KEEP_LOCAL),
then flags.

Recordings are written to --data-dir. With --s3-bucket (YAML: recorder.s3.bucket, ...)
each finalized recording (tracks, chapter clips, poster, timeline, manifest) is uploaded
to that S3-compatible bucket (AWS S3, MinIO, Ceph RGW, ...), retried with backoff while
the store is unreachable, and replayed and downloaded from it through this server.

Flags:
`)
		fs.PrintDefaults()
	}
	configPath := fs.String("config", "", "YAML configuration file")
	dev := fs.Bool("dev", false, "development mode: API key \"devkey\", secret \"secret\", loopback candidates, /api/dev-token")
	bind := fs.String("bind", "", "address to listen on for HTTP and media (default 127.0.0.1)")
	port := fs.Int("port", -1, "HTTP/WebSocket signaling port (default 7880; 0 picks a free port)")
	udpPort := fs.Int("udp-port", -1, "UDP port carrying all WebRTC media (default 7882; 0 picks a free port)")
	tcpPort := fs.Int("tcp-port", -2, "ICE-TCP fallback port for networks that block UDP (default 7881; 0 picks, -1 disables)")
	nodeIP := fs.String("node-ip", "", "comma-separated public IPs to advertise to clients (behind NAT)")
	region := fs.String("region", "", "region label of this node")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (default info)")
	keys := fs.String("keys", "", "API keys as \"key: secret, key2: secret2\"")
	dataDir := fs.String("data-dir", "", "recordings and asset catalog directory, created if missing (default "+node.DefaultDataDir+"; \"-\" disables recording)")
	rtspPort := fs.Int("rtsp-port", -2, "RTSP port for encoders (ANNOUNCE/RECORD to rtsp://host:PORT/<room>/<name>, password = access token or the room's stream key) and players (rtsp://host:PORT/<room>/<participant>) (default 8554, or a free port when --port is 0; 0 picks a free port, -1 disables RTSP)")
	natsURL := fs.String("nats-url", "", "NATS server(s) of the cluster directory, comma-separated (default: an embedded NATS server in this process)")
	cascadeAddr := fs.String("cascade-addr", "", "UDP address cascade links (QUIC) listen on (default "+node.DefaultCascadeAddr+"; port 0 picks a free one; \"0\" alone picks a free port on --bind)")
	clusterSecret := fs.String("cluster-secret", "", "shared secret authenticating cluster members, ≥ 16 bytes (default: a fixed one in --dev, else a random one: a single node)")
	parent := fs.String("parent", "", "static parent's cascade address: rooms this node does not originate are pulled from it (edge trees)")
	record := fs.String("record", "", "rooms recorded automatically: all, none (default) or a comma-separated list of room names")
	s3 := s3Flags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *configPath != "" {
		if err := cfg.LoadFile(*configPath); err != nil {
			return err
		}
	}
	if err := cfg.LoadEnv(os.Getenv); err != nil {
		return err
	}
	if err := cfg.Recorder.LoadS3Env(os.Getenv); err != nil {
		return err
	}
	s3.apply(fs, &cfg.Recorder.S3)
	applyFlags(&cfg, *dev, *bind, *port, *udpPort, *tcpPort, *nodeIP, *region, *logLevel)
	applyRecorderFlags(&cfg, *dataDir, *record)
	applyIngestFlags(&cfg, *rtspPort)
	if err := applyCascadeFlags(&cfg, *natsURL, *cascadeAddr, *clusterSecret, *parent); err != nil {
		return err
	}
	if *keys != "" {
		if err := cfg.LoadEnv(func(k string) string {
			if k == "CLASSCAST_KEYS" {
				return *keys
			}
			return ""
		}); err != nil {
			return err
		}
	}
	if err := cfg.Finish(); err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	n, err := node.Start(cfg, log)
	if err != nil {
		return err
	}
	printReady(n, cfg)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	log.Info("shutting down: telling clients and draining")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	return n.Close(sctx)
}

func applyFlags(cfg *node.Config, dev bool, bind string, port, udp, tcp int, nodeIP, region, level string) {
	cfg.Dev = cfg.Dev || dev
	if bind != "" {
		cfg.Bind = bind
	}
	if port >= 0 {
		cfg.Port = port
	}
	if udp >= 0 {
		cfg.RTC.UDPPort = udp
	}
	if tcp >= -1 {
		cfg.RTC.TCPPort = tcp
	}
	if nodeIP != "" {
		cfg.RTC.NodeIPs = strings.Split(nodeIP, ",")
	}
	if region != "" {
		cfg.Region = region
	}
	if level != "" {
		cfg.LogLevel = level
	}
}

func applyRecorderFlags(cfg *node.Config, dataDir, record string) {
	switch {
	case dataDir == "-":
		cfg.Recorder.DataDir = ""
	case dataDir != "":
		cfg.Recorder.DataDir = dataDir
	case cfg.Recorder.DataDir == "":
		cfg.Recorder.DataDir = node.DefaultDataDir
	}
	if record != "" {
		cfg.Recorder.Record = record
	}
}

// s3FlagSet maps each object storage flag to the config field it sets;
// only flags given on the command line override the config file and the
// environment.
type s3FlagSet map[string]func(*node.S3Config)

func s3Flags(fs *flag.FlagSet) s3FlagSet {
	set := s3FlagSet{}
	str := func(name, usage string, field func(*node.S3Config) *string) {
		v := fs.String(name, "", usage)
		set[name] = func(c *node.S3Config) { *field(c) = *v }
	}
	boolean := func(name, usage string, field func(*node.S3Config) *bool) {
		v := fs.Bool(name, false, usage)
		set[name] = func(c *node.S3Config) { *field(c) = *v }
	}
	str("s3-endpoint", "S3-compatible endpoint for finalized recordings: host[:port] (HTTPS) or http(s)://host[:port], e.g. http://127.0.0.1:9000 for MinIO (default: AWS S3)",
		func(c *node.S3Config) *string { return &c.Endpoint })
	str("s3-bucket", "bucket that finalized recordings are uploaded to and replayed from; empty keeps them on local disk only (the default)",
		func(c *node.S3Config) *string { return &c.Bucket })
	str("s3-region", "region used to sign S3 requests, e.g. us-east-1 (default: asked from the server)",
		func(c *node.S3Config) *string { return &c.Region })
	str("s3-access-key", "S3 access key ID (default: AWS_ACCESS_KEY_ID); prefer CLASSCAST_S3_ACCESS_KEY or the config file: "+
		"flags are visible in the process list", func(c *node.S3Config) *string { return &c.AccessKey })
	str("s3-secret-key", "S3 secret access key (default: AWS_SECRET_ACCESS_KEY); prefer CLASSCAST_S3_SECRET_KEY or the config file: "+
		"flags are visible in the process list", func(c *node.S3Config) *string { return &c.SecretKey })
	boolean("s3-path-style", "address the bucket as ENDPOINT/BUCKET/KEY instead of BUCKET.ENDPOINT/KEY (MinIO, Ceph RGW and most self-hosted stores need it)",
		func(c *node.S3Config) *bool { return &c.PathStyle })
	str("s3-prefix", "key prefix for all objects, e.g. classcast/ to share a bucket (objects are PREFIX<recording-id>/<file>)",
		func(c *node.S3Config) *string { return &c.Prefix })
	boolean("s3-keep-local", "keep the local copy of a recording after it was uploaded and verified (default: delete it, keeping only manifest.json, final.json and storage.json)",
		func(c *node.S3Config) *bool { return &c.KeepLocal })
	return set
}

func (f s3FlagSet) apply(fs *flag.FlagSet, c *node.S3Config) {
	fs.Visit(func(fl *flag.Flag) {
		if set := f[fl.Name]; set != nil {
			set(c)
		}
	})
}

// applyIngestFlags sets the RTSP port: the flag when given, else the config
// file's value, else 8554 — or a free port when the HTTP port is picked
// (--port 0): test harnesses run several servers side by side, and a fixed
// RTSP port (with UDP 8000/8001) would make all but the first fail to start.
func applyIngestFlags(cfg *node.Config, rtspPort int) {
	switch {
	case rtspPort >= -1:
		cfg.Ingest.RTSPPort = &rtspPort
	case cfg.Ingest.RTSPPort == nil:
		p := node.DefaultRTSPPort
		if cfg.Port == 0 {
			p = 0
		}
		cfg.Ingest.RTSPPort = &p
	}
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func printReady(n *node.Node, cfg node.Config) {
	tcp := -1
	if a := n.TCPAddr(); a != nil {
		tcp = a.Port
	}
	http := n.Addr().String()
	fmt.Fprintf(os.Stderr, "classcast: listening http=%s udp=%d tcp=%d\n", http, n.UDPAddr().Port, tcp)
	fmt.Fprintf(os.Stderr, `
  classcast %s is running.
    Web app:      http://%s/
    Signaling:    ws://%s   (LiveKit clients connect here)
    Health:       http://%s/healthz
    Metrics:      http://%s/metrics
    Recordings:   http://%s/api/assets   (Egress API: /twirp/livekit.Egress/)
`, node.Version, http, http, http, http, http)
	fmt.Fprintf(os.Stderr, "    WHIP/WHEP:    http://%s/whip/<room>   http://%s/whep/<room>/<participant>   (Ingress API: /twirp/livekit.Ingress/)\n", http, http)
	if a := n.RTSPAddr(); a != nil {
		fmt.Fprintf(os.Stderr, "    RTSP:         rtsp://%s/<room>/<name>   (publish: password = token or stream key; play: token)\n", a)
	}
	if cfg.Dev {
		fmt.Fprintf(os.Stderr, `    Dev keys:     API key "devkey", secret "secret"
    Get a token:  classcast token --room lesson1 --identity teacher
                  or http://%s/api/dev-token?room=lesson1&identity=teacher

`, http)
	}
}

// applyCascadeFlags turns clustering on (single node: embedded NATS) and
// applies the cluster flags over the config file.
func applyCascadeFlags(cfg *node.Config, natsURL, addr, secret, parent string) error {
	c := &cfg.Cascade
	c.Enabled = true
	if natsURL != "" {
		c.NATSURL = natsURL
	}
	switch {
	case addr == "0":
		bind := cfg.Bind
		if bind == "" {
			bind = "127.0.0.1"
		}
		c.Addr = net.JoinHostPort(bind, "0")
	case addr != "":
		c.Addr = addr
	}
	if secret != "" {
		c.Secret = secret
	}
	if parent != "" {
		c.Parent = parent
	}
	if c.NATSDataDir == "" && c.NATSURL == "" && cfg.Recorder.DataDir != "" {
		c.NATSDataDir = filepath.Join(filepath.Dir(filepath.Clean(cfg.Recorder.DataDir)), "nats")
	}
	if c.Secret == "" {
		if c.NATSURL != "" || c.Parent != "" {
			return fmt.Errorf("%w: --cluster-secret is required to join a cluster", node.ErrConfig)
		}
		if cfg.Dev {
			c.Secret = "classcast-dev-cluster-secret"
		} else {
			var b [24]byte
			_, _ = rand.Read(b[:])
			c.Secret = hex.EncodeToString(b[:])
		}
	}
	return nil
}
