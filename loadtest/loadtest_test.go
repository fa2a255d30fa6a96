package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/classcast/classcast/loadtest/report"
	"github.com/classcast/classcast/sfu/node"
)

// startNode runs a dev node (devkey/secret) on free loopback ports.
func startNode(t *testing.T) *node.Node {
	t.Helper()
	cfg := node.Defaults()
	cfg.Dev = true
	cfg.Port, cfg.RTC.UDPPort, cfg.RTC.TCPPort = 0, 0, 0
	// This suite checks fan-out and the report, not adaptation (TestAdapt* and sfu/node's shaped tests
	// do). On a 2-core CI box shared with other packages, CPU starvation shows up as queuing delay, which
	// the delay-based estimator rightly reads as congestion and answers by pausing a camera.
	cfg.RTC.NoCongestionControl = true
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.Close(ctx)
	})
	return n
}

// TestLessonAgainstNode runs a short lesson (1 master, 10 classrooms, one on stage) against an
// in-process node and checks the report functionally: every classroom got media, loss and latency are
// computed, server metrics were scraped, JSON and HTML are written. No timing is asserted.
func TestLessonAgainstNode(t *testing.T) {
	// Registered first so it runs last, after the node closed.
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	n := startNode(t)
	var progress bytes.Buffer
	rep, err := Run(t.Context(), Config{
		URL: n.URL(), Scenario: ScenarioLesson, Classrooms: 10, Stage: 1, ClassView: true,
		Ramp: 20, Duration: 5 * time.Second, Progress: &progress, ProgressEvery: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 1 {
		t.Fatalf("%d runs", len(rep.Runs))
	}
	run := rep.Runs[0]
	if run.Joined != 11 || run.Failed != 0 {
		t.Fatalf("joined %d failed %d: %v", run.Joined, run.Failed, run.Errors)
	}
	if run.Summary.Subscribers != 10 || run.Summary.WithMedia != 10 {
		t.Errorf("classrooms %d, with media on every expected track %d", run.Summary.Subscribers, run.Summary.WithMedia)
	}
	for _, sub := range run.Subscribers {
		if sub.Role != roleClassroom {
			continue
		}
		if sub.Frames == 0 || sub.FirstFrameMs < 0 || sub.Latency.N == 0 || sub.BitrateKbps <= 0 {
			t.Errorf("%s: frames %d first frame %v latency n %d bitrate %v", sub.Identity, sub.Frames, sub.FirstFrameMs, sub.Latency.N, sub.BitrateKbps)
		}
		wantTracks := 5 // master camera, whiteboard, mic + the stage classroom's camera and mic
		if sub.Identity == "class-0001" {
			wantTracks = 3
		}
		if len(sub.Tracks) != wantTracks {
			var got []string
			for _, tr := range sub.Tracks {
				got = append(got, tr.Publisher+"/"+tr.Kind)
			}
			t.Errorf("%s received %d tracks %v, want %d", sub.Identity, len(sub.Tracks), got, wantTracks)
		}
	}
	s := run.Summary
	if s.Latency.N == 0 || s.Latency.P50 <= 0 || s.Latency.P99 < s.Latency.P50 || s.Latency.Max < s.Latency.P99 {
		t.Errorf("latency %+v", s.Latency)
	}
	if s.PacketLoss < 0 || s.PacketLoss > 1 || s.FrameLoss < 0 || s.FrameLoss > 1 {
		t.Errorf("loss packet %v frame %v", s.PacketLoss, s.FrameLoss)
	}
	if len(run.LatencyCDF) == 0 || len(run.Timeline) == 0 {
		t.Errorf("cdf %d points, timeline %d samples", len(run.LatencyCDF), len(run.Timeline))
	}
	if run.Server == nil || run.Server.PacketsOut <= 0 || run.Server.CPUMicrosPerPacket <= 0 || run.Server.RSSAfter <= 0 {
		t.Errorf("server figures %+v", run.Server)
	}
	if !strings.Contains(progress.String(), "joined 11/11") {
		t.Errorf("progress lines:\n%s", progress.String())
	}
	checkOutputs(t, rep)
}

func checkOutputs(t *testing.T, rep *report.Report) {
	t.Helper()
	dir := t.TempDir()
	jsonPath, htmlPath := filepath.Join(dir, "report.json"), filepath.Join(dir, "report.html")
	if err := WriteFiles(rep, jsonPath, htmlPath); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var back report.Report
	if err := json.Unmarshal(raw, &back); err != nil || len(back.Runs) != 1 || len(back.Runs[0].Subscribers) != 11 {
		t.Fatalf("json round trip: %v (%d runs)", err, len(back.Runs))
	}
	page, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	if n := strings.Count(html, "<svg"); n < 4 {
		t.Errorf("%d SVG plots in the HTML report", n)
	}
	for _, want := range []string{"End-to-end latency CDF", "Aggregate receive bitrate", "Join to first frame", "<polyline", "<rect", "lesson/loopback", "class-0010"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	for _, banned := range []string{"<script src", "https://", "cdn"} {
		if strings.Contains(html, banned) {
			t.Errorf("HTML report is not self-contained: %q", banned)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	in := `# HELP process_cpu_seconds_total x
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
go_memstats_heap_inuse_bytes 1.5e+07
classcast_forward_packets_out_total{kind="a b",x="}"} 10 1700000000
classcast_forward_packets_out_total{kind="video"} 5
broken{ 7
`
	m, err := parseMetrics(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if m[metricCPU] != 12.5 || m[metricHeap] != 15e6 || m[metricPacketsOut] != 15 || len(m) != 3 {
		t.Errorf("parsed %v", m)
	}
}

func TestServerReportWithoutMetrics(t *testing.T) {
	if serverReport(nil, nil, nil, 10) != nil {
		t.Error("no scrape must give no server section")
	}
	before := &metricSample{at: time.Unix(0, 0), values: map[string]float64{metricRSS: 100e6, metricHeap: 10e6}}
	steady := &metricSample{at: time.Unix(10, 0), values: map[string]float64{metricCPU: 1, metricPacketsOut: 1000}}
	end := &metricSample{at: time.Unix(20, 0), values: map[string]float64{metricCPU: 2, metricPacketsOut: 101000, metricRSS: 200e6, metricHeap: 30e6}}
	s := serverReport(before, steady, end, 100)
	if s.CPUMicrosPerPacket != 10 || s.CPUCores != 0.1 || s.PacketsOutPerSec != 10000 || s.RSSPerSubscriber != 1e6 || s.HeapPerSubscriber != 0.2e6 {
		t.Errorf("%+v", s)
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{URL: "ws://127.0.0.1:7880"}
	if err := c.fillDefaults(); err != nil {
		t.Fatal(err)
	}
	if c.MetricsURL != "http://127.0.0.1:7880/metrics" || !*c.Loopback || c.APIKey != "devkey" || c.Quality != "high" {
		t.Errorf("%+v", c)
	}
	for _, bad := range []Config{{}, {URL: "ws://h", Scenario: "party"}, {URL: "ws://h", Classrooms: 2, Stage: 3}, {URL: "ws://h", Quality: "ultra"}} {
		if err := bad.fillDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
