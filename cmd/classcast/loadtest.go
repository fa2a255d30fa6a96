package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/classcast/classcast/loadtest"
	"github.com/classcast/classcast/loadtest/report"
)

// runLoadtest is `classcast loadtest`: simulated classrooms against a LiveKit-protocol server.
func runLoadtest(args []string) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: classcast loadtest [flags]

Joins simulated participants publishing synthetic media (frames carrying send time and sequence) and
measures what every subscriber receives plus the server's CPU and memory (from its /metrics).

  lesson:  1 master (3-layer simulcast camera, whiteboard, audio) + --classrooms subscribers,
           --stage of them on stage (camera + mic everyone subscribes to), --class-view for small
           classroom videos the master receives.
  meeting: --participants all publishing camera + mic and subscribing to everyone.

Flags:
`)
		fs.PrintDefaults()
	}
	url := fs.String("url", envOr("LIVEKIT_URL", "http://127.0.0.1:7880"), "server (or cluster) URL")
	key := fs.String("api-key", envOr("LIVEKIT_API_KEY", "devkey"), "API key tokens are signed with")
	secret := fs.String("api-secret", envOr("LIVEKIT_API_SECRET", "secret"), "API secret")
	scenario := fs.String("scenario", loadtest.ScenarioLesson, "lesson or meeting")
	classrooms := fs.Int("classrooms", 10, "lesson: classroom subscribers")
	stage := fs.Int("stage", 0, "lesson: classrooms with a question on stage (publish camera+mic, subscribed by all)")
	classView := fs.Bool("class-view", false, "lesson: each classroom publishes a small video the master subscribes to")
	participants := fs.Int("participants", 4, "meeting: participants")
	quality := fs.String("quality", "high", "simulcast layer subscribers ask for: low, medium, high")
	ramp := fs.Float64("ramp", 5, "joins per second")
	duration := fs.Duration("duration", 30*time.Second, "measured time after the last join")
	roomPrefix := fs.String("room", "", "room name prefix (default loadtest-<unix time>)")
	metricsURL := fs.String("metrics-url", "", `server Prometheus endpoint (default <url>/metrics; "off" to skip)`)
	profiles := fs.String("profile", "loopback", "comma-separated network profiles, one report row each ("+strings.Join(profileNames(), ", ")+")")
	loopback := fs.String("loopback", "auto", "restrict ICE to 127.0.0.1: auto (when the URL is local), true, false")
	noTWCC := fs.Bool("no-twcc", false, "subscribers send no TWCC congestion feedback (browsers do)")
	local := fs.Bool("local", false, "start a dev node inside the load tester (the adapt scenario binds it to a network namespace it makes; needs root)")
	out := fs.String("out", "", "write the JSON report here")
	htmlOut := fs.String("html", "", "write the HTML report here")
	logLevel := fs.String("log-level", "warn", "load tester log level (client rooms log at error only)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg := loadtest.Config{
		URL: *url, APIKey: *key, APISecret: *secret, Scenario: *scenario, Classrooms: *classrooms, Stage: *stage,
		ClassView: *classView, Participants: *participants, Quality: *quality, Ramp: *ramp, Duration: *duration,
		RoomPrefix: *roomPrefix, MetricsURL: *metricsURL, Progress: os.Stderr, ProgressTTY: isTerminal(os.Stderr),
		DisableCongestionFeedback: *noTWCC, Local: *local, Logger: newLogger(*logLevel), ClientLogger: newLogger("error"),
	}
	for _, name := range strings.Split(*profiles, ",") {
		p, ok := loadtest.Profiles[strings.TrimSpace(name)]
		if !ok {
			return fmt.Errorf("loadtest: unknown profile %q (known: %s)", name, strings.Join(profileNames(), ", "))
		}
		cfg.Profiles = append(cfg.Profiles, p)
	}
	switch *loopback {
	case "true", "false":
		lb := *loopback == "true"
		cfg.Loopback = &lb
	case "auto":
	default:
		return fmt.Errorf("loadtest: --loopback must be auto, true or false")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, runErr := loadtest.Run(ctx, cfg)
	if rep != nil {
		printSummary(os.Stdout, rep)
		if rep.Adapt != nil {
			_ = rep.Adapt.WriteAdaptTable(os.Stdout)
		}
		if err := loadtest.WriteFiles(rep, *out, *htmlOut); err != nil {
			return err
		}
	}
	return runErr
}

func profileNames() []string {
	var names []string
	for n := range loadtest.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func printSummary(w io.Writer, rep *report.Report) {
	for _, r := range rep.Runs {
		s := r.Summary
		fmt.Fprintf(w, "%s: joined %d/%d, %d %s subscribers (%d with media on every track); host load %.1f → %.1f\n",
			r.Name, r.Joined, r.Participants, s.Subscribers, r.Params.MeasuredRole, s.WithMedia, r.HostLoadBefore, r.HostLoadAfter)
		fmt.Fprintf(w, "  loss: packets %.3f%%, frames %.3f%%, worst subscriber %.3f%%; freezes %d\n",
			s.PacketLoss*100, s.FrameLoss*100, s.WorstLoss*100, s.Freezes)
		fmt.Fprintf(w, "  latency ms: p50 %.1f p95 %.1f p99 %.1f max %.1f; join→first frame ms: p50 %.0f p99 %.0f\n",
			s.Latency.P50, s.Latency.P95, s.Latency.P99, s.Latency.Max, s.FirstFrameMs.P50, s.FirstFrameMs.P99)
		fmt.Fprintf(w, "  rx per subscriber kbit/s: p50 %.0f min %.0f; aggregate %.1f Mbit/s; load generator %.2f cores\n",
			s.BitrateKbps.P50, s.BitrateKbps.Min, s.AggregateRxMbps, r.LoadGenCPUCores)
		if sv := r.Server; sv != nil {
			fmt.Fprintf(w, "  server: %.2f cores, %.0f packets/s out, %.2f µs CPU/packet, RSS %.2f MB/subscriber, Go live memory %.2f MB/subscriber\n",
				sv.CPUCores, sv.PacketsOutPerSec, sv.CPUMicrosPerPacket, sv.RSSPerSubscriber/(1<<20), sv.HeapPerSubscriber/(1<<20))
		} else {
			fmt.Fprintln(w, "  server: no /metrics")
		}
	}
}
