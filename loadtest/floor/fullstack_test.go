package floor

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pion/srtp/v3"

	"github.com/classcast/classcast/sfu/node"
)

// The full-stack benchmark runs the real node (signaling, rooms, pion, the
// forward path) in this process and every client — one simulcast publisher
// and N subscribers, real pion peers using client-sdk/go — in a child
// process, so that this process's CPU time is the server's alone.
const (
	childEnv   = "CLASSCAST_FULLSTACK_CHILD"
	childURL   = "CLASSCAST_FULLSTACK_URL"
	childN     = "CLASSCAST_FULLSTACK_N"
	fsRoom     = "bench"
	fsSettle   = 2 * time.Second
	fsReadyMax = 120 * time.Second
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runClients())
	}
	os.Exit(m.Run())
}

// fullStackSubscribers is the list of N, from FULLSTACK_N (e.g. "10,50").
func fullStackSubscribers() []int {
	v := os.Getenv("FULLSTACK_N")
	if v == "" {
		v = "10,50,100"
	}
	var ns []int
	for _, f := range strings.Split(v, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			ns = append(ns, n)
		}
	}
	return ns
}

func fullStackWindow() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("FULLSTACK_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 10 * time.Second
}

// BenchmarkFullStack measures server CPU per forwarded packet: one pion
// publisher sending 3-layer VP8 simulcast (30 fps; ~1, 2 and 8 packets per
// frame on q, h, f, about 1,100 bytes each) through the real node to N real
// pion subscribers (all on f, transport-cc negotiated as browsers do) over
// loopback. The server's CPU (this
// process, getrusage) over a steady window is divided by the packets it
// forwarded (its own packets_out counter). The floor (SRTP encryption plus
// loopback send, sending thread CPU) is measured right after in the same
// process and each figure is also reported as a multiple of it. Run with
// -benchtime 1x; -cpuprofile profiles the server only.
func BenchmarkFullStack(b *testing.B) {
	for _, n := range fullStackSubscribers() {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			r := runFullStack(b, n, fullStackWindow())
			gcm := measureFloor(b, srtp.ProtectionProfileAeadAes128Gcm, 200_000)
			cm := measureFloor(b, srtp.ProtectionProfileAes128CmHmacSha1_80, 100_000)
			perPkt := r.serverCPU / r.forwarded
			b.ReportMetric(perPkt/1e3, "server-us/pkt")
			b.ReportMetric(r.clientCPU/r.forwarded/1e3, "clients-us/pkt")
			b.ReportMetric(r.forwarded/r.window.Seconds(), "fwd-pkt/s")
			b.ReportMetric(r.received/r.forwarded, "recv/fwd")
			b.ReportMetric(gcm/1e3, "floor-gcm-us/pkt")
			b.ReportMetric(cm/1e3, "floor-cm-us/pkt")
			b.ReportMetric(perPkt/gcm, "x-floor-gcm")
			b.ReportMetric(perPkt/cm, "x-floor-cm")
		})
	}
}

type fullStackResult struct {
	window               time.Duration
	serverCPU, clientCPU float64 // nanoseconds
	forwarded, received  float64 // packets
}

func runFullStack(b *testing.B, n int, window time.Duration) fullStackResult {
	b.Helper()
	cfg := node.Defaults()
	cfg.Dev = true
	cfg.Port, cfg.RTC.UDPPort, cfg.RTC.TCPPort = 0, 0, -1
	if err := cfg.Finish(); err != nil {
		b.Fatal(err)
	}
	nd, err := node.Start(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = nd.Close(ctx)
	}()

	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", childURL+"="+nd.URL(), childN+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		b.Fatalf("clients did not get ready: %q %v", lines.Text(), lines.Err())
	}
	time.Sleep(fsSettle)

	mark := func() (server, client, out, recv float64) {
		if _, err := io.WriteString(stdin, "mark\n"); err != nil {
			b.Fatal(err)
		}
		server = float64(processCPU())
		out = packetsOut(b, nd)
		if !lines.Scan() {
			b.Fatalf("clients: %v", lines.Err())
		}
		if _, err := fmt.Sscanf(lines.Text(), "cpu %g %g", &client, &recv); err != nil {
			b.Fatalf("clients said %q: %v", lines.Text(), err)
		}
		return server, client, out, recv
	}
	s0, c0, o0, r0 := mark()
	time.Sleep(window)
	s1, c1, o1, r1 := mark()
	if o1 == o0 {
		b.Fatal("nothing forwarded")
	}
	logCounters(b, nd)
	return fullStackResult{window: window, serverCPU: s1 - s0, clientCPU: c1 - c0, forwarded: o1 - o0, received: r1 - r0}
}

func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// packetsOut reads the forward path's packets_out counter from the node.
func packetsOut(b *testing.B, nd *node.Node) float64 {
	mfs, err := nd.Registry().Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "classcast_forward_packets_out_total" {
			var t float64
			for _, m := range mf.GetMetric() {
				t += m.GetCounter().GetValue()
			}
			return t
		}
	}
	b.Fatal("no packets_out counter")
	return 0
}

// logCounters shows the forward path's counters (drops, NACKs, switches)
// with -v, to tell a slow server from a stream that was not there.
func logCounters(b *testing.B, nd *node.Node) {
	mfs, err := nd.Registry().Gather()
	if err != nil {
		return
	}
	var parts []string
	for _, mf := range mfs {
		name, ok := strings.CutPrefix(mf.GetName(), "classcast_forward_")
		if !ok {
			continue
		}
		var t float64
		for _, m := range mf.GetMetric() {
			t += m.GetCounter().GetValue()
		}
		parts = append(parts, fmt.Sprintf("%s=%.0f", name, t))
	}
	b.Logf("counters: %s", strings.Join(parts, " "))
}
