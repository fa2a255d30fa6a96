// Command benchsummary turns one `make bench` run (go test benchmark output, load test JSON
// reports, a pprof top listing) into the single table scripts/bench.sh prints: each figure with
// its ratio to the SRTP+send floor measured in the same run, or to its capacity target.
//
//	go run ./loadtest/benchsummary -bench bench.txt -lesson lesson-50.json,lesson-100.json
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/classcast/classcast/loadtest/report"
)

// Targets (issue 9).
const (
	targetSubsPerCore = 600.0
	targetP99Ms       = 5.0
	targetKBPerSub    = 200.0
	targetJoinMs      = 300.0
	maxLossForCount   = 0.01
)

func main() {
	benchPath := flag.String("bench", "", "go test -bench output (floor, forward, full stack)")
	lessons := flag.String("lesson", "", "comma-separated load test JSON reports (lesson scenario)")
	load := flag.String("load", "", "load averages noted during the run (free text)")
	flag.Parse()
	if err := run(os.Stdout, *benchPath, *lessons, *load); err != nil {
		fmt.Fprintln(os.Stderr, "benchsummary:", err)
		os.Exit(1)
	}
}

// benchLine: "BenchmarkFloor/GCM/encrypt+send-2  123  456 ns/op  789 sender-cpu-ns/pkt ...".
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+(.*)$`)

// parseBench maps "BenchmarkX/sub" → unit → value.
func parseBench(r io.Reader) (map[string]map[string]float64, error) {
	out := map[string]map[string]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		f := strings.Fields(m[3])
		vals := map[string]float64{}
		for i := 0; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				vals[f[i+1]] = v
			}
		}
		out[m[1]] = vals
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read bench output: %w", err)
	}
	return out, nil
}

type row struct{ figure, value, against, ratio string }

func ratioStr(v, ref float64) string {
	if ref == 0 || v == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", v/ref)
}

func run(w io.Writer, benchPath, lessons, load string) error {
	var rows []row
	b := map[string]map[string]float64{}
	if benchPath != "" {
		f, err := os.Open(benchPath)
		if err != nil {
			return err
		}
		b, err = parseBench(f)
		_ = f.Close()
		if err != nil {
			return err
		}
	}
	floor := b["BenchmarkFloor/GCM/encrypt+send"]["sender-cpu-ns/pkt"] / 1e3
	floorCM := b["BenchmarkFloor/CM/encrypt+send"]["sender-cpu-ns/pkt"] / 1e3
	floorStr := fmt.Sprintf("floor GCM %.2f µs", floor)
	if floor > 0 {
		rows = append(rows,
			row{"floor: SRTP GCM encrypt + loopback send (sender CPU)", fmt.Sprintf("%.2f µs/pkt", floor), "anchor 5.0 µs", ratioStr(floor, 5.0)},
			row{"floor: SRTP CM encrypt + loopback send (sender CPU)", fmt.Sprintf("%.2f µs/pkt", floorCM), "anchor 7.4 µs", ratioStr(floorCM, 7.4)},
			row{"floor: SRTP GCM encrypt only", fmt.Sprintf("%.2f µs/pkt", b["BenchmarkFloor/GCM/encrypt"]["sender-cpu-ns/pkt"]/1e3), "anchor 0.37 µs", ratioStr(b["BenchmarkFloor/GCM/encrypt"]["sender-cpu-ns/pkt"]/1e3, 0.37)})
	}
	for _, n := range []string{"100", "600"} {
		v, ok := b["BenchmarkForward/N="+n]
		if !ok {
			continue
		}
		cpu := v["cpu-ns/fwd-pkt"] / 1e3
		rows = append(rows, row{"in-process fan-out N=" + n + " (BenchmarkForward, CPU)", fmt.Sprintf("%.3f µs/fwd-pkt, %.0f allocs/op", cpu, v["allocs/op"]), floorStr, ratioStr(cpu, floor)})
	}
	for name, v := range b {
		if !strings.HasPrefix(name, "BenchmarkFullStack/") {
			continue
		}
		us := v["server-us/pkt"]
		rows = append(rows,
			row{"full stack " + strings.TrimPrefix(name, "BenchmarkFullStack/") + ": server CPU per forwarded packet", fmt.Sprintf("%.1f µs/pkt (%.0f pkt/s)", us, v["fwd-pkt/s"]), floorStr, ratioStr(us, floor)},
			row{"  same, against the floor measured in its own process", fmt.Sprintf("%.1f µs/pkt", us), fmt.Sprintf("floor GCM %.2f µs", v["floor-gcm-us/pkt"]), fmt.Sprintf("%.2f", v["x-floor-gcm"])})
	}
	for _, p := range strings.Split(lessons, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		rs, err := lessonRows(p)
		if err != nil {
			return err
		}
		rows = append(rows, rs...)
	}
	fmt.Fprintln(w, "| figure | measured | against | ratio |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.figure, r.value, r.against, r.ratio)
	}
	if load != "" {
		fmt.Fprintf(w, "\nHost load average during the run: %s (2 cores shared with other developers).\n", load)
	}
	return nil
}

func lessonRows(path string) ([]row, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep report.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var rows []row
	for _, r := range rep.Runs {
		// Packet loss is what the path lost (after NACK repair); frame loss also counts frames the
		// allocator chose not to send (temporal layers dropped for bandwidth), so it is shown apart.
		good, strict := 0, 0
		for _, s := range r.Subscribers {
			if s.Role != r.Params.MeasuredRole || s.Error != "" || s.Frames == 0 || s.PacketLoss >= maxLossForCount {
				continue
			}
			good++
			if s.FrameLoss < maxLossForCount {
				strict++
			}
		}
		tag := fmt.Sprintf("lesson %d classrooms (load %.1f→%.1f)", r.Params.Classrooms, r.HostLoadBefore, r.HostLoadAfter)
		sm := r.Summary
		rows = append(rows, row{tag + ": subscribers at <1% loss", fmt.Sprintf("%d of %d (%d also <1%% frame loss; totals %.2f%% pkts, %.2f%% frames)", good, sm.Subscribers, strict, sm.PacketLoss*100, sm.FrameLoss*100), "", ""})
		if sv := r.Server; sv != nil {
			perCore := 0.0
			if sv.CPUCores > 0 {
				perCore = float64(good) / sv.CPUCores
			}
			rows = append(rows,
				row{tag + ": subscribers per server core", fmt.Sprintf("%.0f (server %.2f cores, load generator %.2f)", perCore, sv.CPUCores, r.LoadGenCPUCores), fmt.Sprintf("target ≥ %.0f", targetSubsPerCore), ratioStr(perCore, targetSubsPerCore)},
				row{tag + ": server CPU per packet out", fmt.Sprintf("%.1f µs/pkt (%.0f pkt/s)", sv.CPUMicrosPerPacket, sv.PacketsOutPerSec), "", ""},
				row{tag + ": memory per subscriber (RSS growth)", fmt.Sprintf("%.0f KB", sv.RSSPerSubscriber/1024), fmt.Sprintf("target ≤ %.0f KB", targetKBPerSub), ratioStr(sv.RSSPerSubscriber/1024, targetKBPerSub)},
				row{tag + ": memory per subscriber (Go live heap + stacks)", fmt.Sprintf("%.0f KB", sv.HeapPerSubscriber/1024), fmt.Sprintf("target ≤ %.0f KB", targetKBPerSub), ratioStr(sv.HeapPerSubscriber/1024, targetKBPerSub)})
		}
		rows = append(rows,
			row{tag + ": added latency p50 (synthetic timestamps, loopback)", fmt.Sprintf("%.2f ms", sm.Latency.P50), "", ""},
			row{tag + ": added latency p99", fmt.Sprintf("%.2f ms", sm.Latency.P99), fmt.Sprintf("target ≤ %.0f ms at 80%% load", targetP99Ms), ratioStr(sm.Latency.P99, targetP99Ms)},
			row{tag + ": join → first video frame p50", fmt.Sprintf("%.0f ms", sm.FirstFrameMs.P50), fmt.Sprintf("target ≤ %.0f ms", targetJoinMs), ratioStr(sm.FirstFrameMs.P50, targetJoinMs)},
			row{tag + ": join → first video frame p99", fmt.Sprintf("%.0f ms", sm.FirstFrameMs.P99), fmt.Sprintf("target ≤ %.0f ms", targetJoinMs), ratioStr(sm.FirstFrameMs.P99, targetJoinMs)})
	}
	return rows, nil
}
