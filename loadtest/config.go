// Package loadtest drives a LiveKit-protocol server with many client-SDK participants publishing
// synthetic media (frames carrying a sequence number and send time), measures what every subscriber
// receives (bitrate, loss, jitter, freezes, end-to-end latency, join-to-first-frame) and the server's
// CPU and memory from its Prometheus /metrics, and reports it as JSON and self-contained HTML.
package loadtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
)

// Scenario names.
const (
	ScenarioLesson  = "lesson"
	ScenarioMeeting = "meeting"
	// ScenarioAdapt is bandwidth adaptation: one classroom behind a shaped link (netlab), one on a
	// clean link, through AdaptSteps. Root only.
	ScenarioAdapt = "adapt"
)

// Config is one load test. The zero value plus URL is valid.
type Config struct {
	// URL is the server (or cluster entry) signaling URL, ws(s):// or http(s)://. Required unless
	// Local; the value "local" sets Local.
	URL string
	// Local starts a dev node (devkey/secret) inside the load tester on free ports: on 127.0.0.1,
	// or for the adapt scenario on the lab's host address. Its CPU shares the process with the
	// load generator, so capacity figures of a local run are not the server's alone.
	Local bool
	// APIKey and APISecret mint the tokens. They default to devkey / secret.
	APIKey, APISecret string
	// Scenario is "lesson", "meeting" or "adapt". It defaults to lesson.
	Scenario string
	// Classrooms is the number of classroom subscribers of a lesson. It defaults to 10.
	Classrooms int
	// Stage is how many of the classrooms put a question on stage: they publish camera and mic and
	// everybody subscribes to them. It defaults to 0.
	Stage int
	// ClassView makes each classroom publish a small video the master subscribes to. It defaults to false.
	ClassView bool
	// Participants is the size of a meeting (everyone publishes and subscribes to all). It defaults to 4.
	Participants int
	// Quality is the simulcast layer subscribers ask for: low, medium or high. It defaults to high.
	Quality string
	quality livekit.VideoQuality
	// Ramp is joins per second. It defaults to 5.
	Ramp float64
	// Duration is the measured time after the last join. It defaults to 30 s.
	Duration time.Duration
	// RoomPrefix names the rooms ("<prefix>-<profile>[-n]"). It defaults to "loadtest-<unix time>".
	RoomPrefix string
	// MetricsURL is the server's Prometheus endpoint. It defaults to URL's host + /metrics;
	// "off" disables scraping. A missing or foreign endpoint is skipped, not an error.
	MetricsURL string
	// Profiles are the network conditions to run the scenario under, one report row each.
	// It defaults to [Loopback].
	Profiles []Profile
	// Loopback restricts ICE to 127.0.0.1 (server on this machine). It defaults to true when URL's
	// host is a loopback address or localhost.
	Loopback *bool
	// DisableCongestionFeedback stops subscribers sending TWCC feedback. Browsers send it and
	// send-side bandwidth estimators need it, so it defaults to false (feedback on).
	DisableCongestionFeedback bool
	// AdaptSteps are the adapt scenario's link conditions. They default to DefaultAdaptSteps.
	AdaptSteps []AdaptStep
	// AdaptHold is how long each adapt step is measured. It defaults to 20 s.
	AdaptHold time.Duration
	// FreezeGap is the pause between video frames that counts as a freeze. It defaults to 500 ms.
	FreezeGap time.Duration
	// Progress receives the live progress display. It defaults to io.Discard.
	Progress io.Writer
	// ProgressTTY draws a redrawn bar (terminal) instead of periodic plain lines.
	ProgressTTY bool
	// ProgressEvery is the plain-line interval (the bar redraws every second). It defaults to 5 s.
	ProgressEvery time.Duration
	// Logger receives the run's log lines (never per packet). It defaults to a discarding logger.
	Logger *slog.Logger
	// ClientLogger is handed to every client room. It defaults to a discarding logger.
	ClientLogger *slog.Logger
}

// Profile shapes the network for one run. Loopback changes nothing; tc/netem profiles (bandwidth,
// delay, loss on the path to the server) plug in here and each adds a row to the report.
type Profile interface {
	// Name labels the run ("loopback", "3g", …).
	Name() string
	// Apply shapes the network and returns how to undo it.
	Apply(ctx context.Context) (undo func() error, err error)
}

// Loopback is the no-shaping profile.
type Loopback struct{}

// Name implements Profile.
func (Loopback) Name() string { return "loopback" }

// Apply implements Profile.
func (Loopback) Apply(context.Context) (func() error, error) { return func() error { return nil }, nil }

// Profiles known by name on the command line.
var Profiles = map[string]Profile{"loopback": Loopback{}}

func (c *Config) fillDefaults() error {
	if c.URL == localURL {
		c.Local = true
	}
	if c.Local {
		c.URL = "ws://127.0.0.1" // replaced by the node's URL once it runs (useNode)
	}
	if c.URL == "" {
		return fmt.Errorf("%w: URL is required", ErrConfig)
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: bad URL %q", ErrConfig, c.URL)
	}
	if c.APIKey == "" {
		c.APIKey, c.APISecret = "devkey", "secret"
	}
	if c.Scenario == "" {
		c.Scenario = ScenarioLesson
	}
	if c.Scenario != ScenarioLesson && c.Scenario != ScenarioMeeting && c.Scenario != ScenarioAdapt {
		return fmt.Errorf("%w: unknown scenario %q (lesson, meeting, adapt)", ErrConfig, c.Scenario)
	}
	if c.AdaptHold <= 0 {
		c.AdaptHold = 20 * time.Second
	}
	if c.Classrooms <= 0 {
		c.Classrooms = 10
	}
	if c.Stage < 0 || c.Stage > c.Classrooms {
		return fmt.Errorf("%w: stage %d must be between 0 and classrooms (%d)", ErrConfig, c.Stage, c.Classrooms)
	}
	if c.Participants <= 0 {
		c.Participants = 4
	}
	if c.Quality == "" {
		c.Quality = "high"
	}
	if c.quality, err = ParseQuality(c.Quality); err != nil {
		return err
	}
	if c.Ramp <= 0 {
		c.Ramp = 5
	}
	if c.Duration <= 0 {
		c.Duration = 30 * time.Second
	}
	if c.RoomPrefix == "" {
		c.RoomPrefix = fmt.Sprintf("loadtest-%d", time.Now().Unix())
	}
	if c.MetricsURL == "" && !c.Local {
		c.MetricsURL = metricsURLFor(u)
	}
	if len(c.Profiles) == 0 {
		c.Profiles = []Profile{Loopback{}}
	}
	if c.Loopback == nil {
		lb := isLoopbackHost(u.Hostname())
		c.Loopback = &lb
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ClientLogger == nil {
		c.ClientLogger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// useNode points the run at an in-process node's URL.
func (c *Config) useNode(nodeURL string) {
	c.URL = nodeURL
	if u, err := url.Parse(nodeURL); err == nil && c.MetricsURL == "" {
		c.MetricsURL = metricsURLFor(u)
	}
	lb := true
	c.Loopback = &lb
}

// ParseQuality reads low/medium/high.
func ParseQuality(s string) (livekit.VideoQuality, error) {
	switch strings.ToLower(s) {
	case "low", "q":
		return livekit.VideoQuality_LOW, nil
	case "medium", "h":
		return livekit.VideoQuality_MEDIUM, nil
	case "high", "f":
		return livekit.VideoQuality_HIGH, nil
	}
	return 0, fmt.Errorf("%w: quality %q (low, medium, high)", ErrConfig, s)
}

func metricsURLFor(u *url.URL) string {
	m := *u
	switch m.Scheme {
	case "ws":
		m.Scheme = "http"
	case "wss":
		m.Scheme = "https"
	}
	m.Path, m.RawQuery = "/metrics", ""
	return m.String()
}

func isLoopbackHost(h string) bool {
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1"
}

// settingEngine keeps ICE on loopback when the server is local: no STUN, no other interfaces.
func (c *Config) settingEngine() *webrtc.SettingEngine {
	se := &webrtc.SettingEngine{}
	if *c.Loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	}
	return se
}
