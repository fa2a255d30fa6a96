package cluster

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// EmbeddedOptions configure an in-process NATS server. The zero value plus a
// DataDir is valid.
type EmbeddedOptions struct {
	// DataDir holds the JetStream store (under DataDir/jetstream). Required.
	DataDir string
	// Host to listen on. It defaults to 127.0.0.1.
	Host string
	// Port for clients. It defaults to 0, a random free port.
	Port int
	// ServerName is the NATS server name. It defaults to a generated one;
	// clustered servers need distinct stable names.
	ServerName string
	// ClusterName, ClusterPort and Routes cluster several servers. Leave
	// ClusterName empty for a single server. ClusterPort 0 is random.
	ClusterName string
	ClusterPort int
	Routes      []string
	// ReadyTimeout bounds startup. It defaults to 10s.
	ReadyTimeout time.Duration
}

// EmbeddedServer is a NATS server with JetStream running in this process.
type EmbeddedServer struct {
	srv *server.Server
}

// StartEmbedded starts a NATS server with JetStream in-process.
func StartEmbedded(o EmbeddedOptions) (*EmbeddedServer, error) {
	if o.DataDir == "" {
		return nil, fmt.Errorf("%w: EmbeddedOptions.DataDir is required", errInvalidConfig)
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 10 * time.Second
	}
	opts := &server.Options{
		ServerName: o.ServerName,
		Host:       o.Host,
		Port:       randomIfZero(o.Port),
		JetStream:  true,
		StoreDir:   filepath.Join(o.DataDir, "jetstream"),
		NoLog:      true,
		NoSigs:     true,
	}
	if o.ClusterName != "" {
		opts.Cluster.Name = o.ClusterName
		opts.Cluster.Host = o.Host
		opts.Cluster.Port = randomIfZero(o.ClusterPort)
		for _, r := range o.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("%w: route %q: %w", errInvalidConfig, r, err)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: embedded NATS: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(o.ReadyTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, errEmbeddedNotReady
	}
	return &EmbeddedServer{srv: srv}, nil
}

// randomIfZero maps our "0 = random" to NATS' RANDOM_PORT (-1); NATS treats
// 0 as its default port.
func randomIfZero(p int) int {
	if p == 0 {
		return server.RANDOM_PORT
	}
	return p
}

// ClientURL is the nats:// URL clients connect to.
func (e *EmbeddedServer) ClientURL() string { return e.srv.ClientURL() }

// Port is the client port actually bound.
func (e *EmbeddedServer) Port() int {
	if a, ok := e.srv.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// ClusterURL is the nats-route:// URL other servers route to ("" if not
// clustered).
func (e *EmbeddedServer) ClusterURL() string {
	addr := e.srv.ClusterAddr()
	if addr == nil {
		return ""
	}
	return "nats-route://" + addr.String()
}

// Shutdown stops the server and waits for it.
func (e *EmbeddedServer) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// Connect dials a NATS server or cluster (comma-separated URLs) and keeps
// reconnecting forever: a directory outage must never end a node.
func Connect(urls string, name string) (*nats.Conn, error) {
	nc, err := nats.Connect(urls,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(false),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: connect %s: %w", ErrDirectoryUnavailable, urls, err)
	}
	return nc, nil
}
