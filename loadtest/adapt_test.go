package loadtest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/classcast/classcast/internal/netlab"
)

// TestAdaptScenarioLocal runs the adaptation scenario against an in-process node with short
// steps and checks the report's shape: every step measured, the 300 kbit/s cap reached a lower
// layer, audio flowed, the table and HTML are written. Times are reported, not asserted.
func TestAdaptScenarioLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("the adaptation scenario takes about a minute")
	}
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	var progress bytes.Buffer
	rep, err := Run(t.Context(), Config{URL: "local", Scenario: ScenarioAdapt, AdaptHold: 6 * time.Second, Progress: &progress})
	if errors.Is(err, netlab.ErrNotRoot) || errors.Is(err, netlab.ErrToolMissing) {
		t.Skip(err)
	}
	t.Log("\n" + progress.String())
	if err != nil {
		t.Fatal(err)
	}
	a := rep.Adapt
	if a == nil || len(a.Steps) != len(DefaultAdaptSteps) || a.Mode != "local" || len(a.Timeline) == 0 {
		t.Fatalf("adapt report %+v", a)
	}
	capped := a.Steps[0]
	if capped.DownSwitchMs < 0 || capped.EndLayer == "1280x720" {
		t.Errorf("300 kbit/s cap: down-switch %v ms, end layer %s", capped.DownSwitchMs, capped.EndLayer)
	}
	// Everything else (recovery, the reference's frames) is a measurement, reported not asserted.
	for _, s := range a.Steps {
		if s.AudioPackets == 0 || s.ServerLayer == nil || s.HoldS <= 0 {
			t.Errorf("%s: audio packets %d, server layer %v, measured %.1f s", s.Name, s.AudioPackets, s.ServerLayer, s.HoldS)
		}
	}
	if !strings.Contains(progress.String(), "down-switch ms") || !strings.Contains(progress.String(), "[1/4] 300 kbit/s cap applied") {
		t.Errorf("progress output lacks the step lines or the table")
	}
	htmlPath := filepath.Join(t.TempDir(), "adapt.html")
	if err := WriteFiles(rep, filepath.Join(t.TempDir(), "adapt.json"), htmlPath); err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(htmlPath)
	for _, want := range []string{`id="adapt"`, "300 kbit/s cap", "Adaptation: receive bitrate", "<polyline"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

func TestAdaptNeedsReachableServer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to get past making the lab")
	}
	_, err := Run(t.Context(), Config{URL: "ws://127.0.0.1:1", Scenario: ScenarioAdapt})
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("adapt against a loopback URL: %v", err)
	}
}
