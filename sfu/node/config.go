// Package node wires one classcast process: media engine, rooms, signaling,
// RoomService, health, metrics and the web app on one HTTP listener.
package node

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ErrConfig is returned for an invalid configuration.
var ErrConfig = errors.New("node: invalid configuration")

// Config is the whole server configuration. The YAML file, CLASSCAST_*
// environment variables and command-line flags fill it in that order.
type Config struct {
	// Bind is the address HTTP and media listen on. Default 127.0.0.1.
	Bind string `yaml:"bind"`
	// Port is the HTTP/WebSocket signaling port. Default 7880; 0 picks one.
	Port int `yaml:"port"`
	RTC  struct {
		// UDPPort carries all WebRTC media (ICE UDP mux). Default 7882.
		UDPPort int `yaml:"udp_port"`
		// TCPPort is the ICE-TCP fallback. Default 7881; -1 disables.
		TCPPort int `yaml:"tcp_port"`
		// NodeIPs are public addresses advertised to clients (behind NAT).
		NodeIPs []string `yaml:"node_ips"`
		// AllowLoopback offers 127.0.0.1 candidates (dev mode turns it on).
		AllowLoopback bool `yaml:"allow_loopback"`
		// NoCongestionControl disables per-subscriber bandwidth estimation
		// (every subscriber gets the layers it asks for). Default false.
		NoCongestionControl bool `yaml:"no_congestion_control"`
	} `yaml:"rtc"`
	// Keys maps API keys to secrets.
	Keys map[string]string `yaml:"keys"`
	Room struct {
		EmptyTimeout     time.Duration `yaml:"empty_timeout"`
		DepartureTimeout time.Duration `yaml:"departure_timeout"`
		MaxParticipants  int           `yaml:"max_participants"`
		// ResumeGrace keeps a participant whose signaling dropped this long
		// for a resume. Default 15s.
		ResumeGrace time.Duration `yaml:"resume_grace"`
	} `yaml:"room"`
	// Region labels this node (reported to clients, used for edge choice).
	Region string `yaml:"region"`
	// NodeID names this node; generated when empty.
	NodeID string `yaml:"node_id"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
	// Dev enables devkey/secret, loopback candidates and /api/dev-token.
	Dev bool `yaml:"dev"`
	// ShutdownGrace bounds the drain on SIGTERM. Default 5s.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
	Ingest        IngestConfig  `yaml:"ingest"`
	// Recorder configures recording (sfu/node/recorder.go).
	Recorder RecorderConfig `yaml:"recorder"`
	// Cascade joins a cluster of nodes (sfu/node/cascade.go).
	Cascade CascadeConfig `yaml:"cascade"`
}

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	var c Config
	c.Bind = "127.0.0.1"
	c.Port = 7880
	c.RTC.UDPPort = 7882
	c.RTC.TCPPort = 7881
	c.LogLevel = "info"
	c.ShutdownGrace = 5 * time.Second
	return c
}

// LoadFile merges a YAML file into c.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	return nil
}

// LoadEnv merges CLASSCAST_* variables (and LIVEKIT_KEYS, "key: secret").
func (c *Config) LoadEnv(getenv func(string) string) error {
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	num := func(name string, dst *int) error {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%w: %s=%q: %w", ErrConfig, name, v, err)
			}
			*dst = n
		}
		return nil
	}
	str("CLASSCAST_BIND", &c.Bind)
	str("CLASSCAST_REGION", &c.Region)
	str("CLASSCAST_NODE_ID", &c.NodeID)
	str("CLASSCAST_LOG_LEVEL", &c.LogLevel)
	for name, dst := range map[string]*int{
		"CLASSCAST_PORT": &c.Port, "CLASSCAST_UDP_PORT": &c.RTC.UDPPort, "CLASSCAST_TCP_PORT": &c.RTC.TCPPort,
	} {
		if err := num(name, dst); err != nil {
			return err
		}
	}
	for _, name := range []string{"CLASSCAST_KEYS", "LIVEKIT_KEYS"} {
		if v := getenv(name); v != "" {
			if err := c.parseKeys(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// parseKeys reads "key1: secret1, key2: secret2".
func (c *Config) parseKeys(v string) error {
	if c.Keys == nil {
		c.Keys = map[string]string{}
	}
	for _, kv := range strings.Split(v, ",") {
		k, s, ok := strings.Cut(kv, ":")
		if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(s) == "" {
			return fmt.Errorf("%w: keys must look like \"key: secret\", got %q", ErrConfig, kv)
		}
		c.Keys[strings.TrimSpace(k)] = strings.TrimSpace(s)
	}
	return nil
}

// Finish applies dev mode and validates.
func (c *Config) Finish() error {
	if c.Dev {
		if c.Keys == nil {
			c.Keys = map[string]string{}
		}
		if len(c.Keys) == 0 {
			c.Keys["devkey"] = "secret"
		}
		c.RTC.AllowLoopback = true
	}
	if len(c.Keys) == 0 {
		return fmt.Errorf("%w: no API keys (set keys: in the config file, CLASSCAST_KEYS, or use --dev)", ErrConfig)
	}
	for k, s := range c.Keys {
		if len(s) < 6 && !c.Dev {
			return fmt.Errorf("%w: secret of key %q is too short", ErrConfig, k)
		}
	}
	if c.Port < 0 || c.Port > 65535 || c.RTC.UDPPort < 0 || c.RTC.UDPPort > 65535 || c.RTC.TCPPort > 65535 {
		return fmt.Errorf("%w: port out of range", ErrConfig)
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = 5 * time.Second
	}
	return nil
}
