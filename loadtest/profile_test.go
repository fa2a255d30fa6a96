package loadtest

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// TestProfileLesson is a measurement harness, not a check: with LOADTEST_PROFILE_CLASSROOMS=N it
// runs a lesson of N classrooms against an in-process node so `go test -cpuprofile` sees the server
// and the load generator in one profile (filter with pprof -focus=sfu/ or -focus=client-sdk).
//
//	LOADTEST_PROFILE_CLASSROOMS=50 go test -run TestProfileLesson -cpuprofile /tmp/cpu.out ./loadtest
func TestProfileLesson(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LOADTEST_PROFILE_CLASSROOMS"))
	if n <= 0 {
		t.Skip("measurement harness: set LOADTEST_PROFILE_CLASSROOMS")
	}
	node := startNode(t)
	rep, err := Run(t.Context(), Config{
		URL: node.URL(), Classrooms: n, Ramp: 20, Duration: 20 * time.Second,
		Progress: os.Stderr, ProgressEvery: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Runs[0].Summary
	t.Logf("loss %.3f%% / %.3f%%, latency p50 %.1f p99 %.1f ms, server %+v", s.PacketLoss*100, s.FrameLoss*100, s.Latency.P50, s.Latency.P99, rep.Runs[0].Server)
	if out := os.Getenv("LOADTEST_PROFILE_HTML"); out != "" {
		if err := WriteFiles(rep, "", out); err != nil {
			t.Fatal(err)
		}
	}
}
