package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/loadtest/report"
)

// maxErrorsKept bounds the join errors copied into a run's report.
const maxErrorsKept = 10

// closeParallelism bounds how many rooms leave at once at the end of a run.
const closeParallelism = 16

// Run executes the scenario once per profile and returns the report. ctx cancellation ends the
// current run early (its partial results are still reported).
func Run(ctx context.Context, cfg Config) (*report.Report, error) {
	if err := cfg.fillDefaults(); err != nil {
		return nil, err
	}
	rep := &report.Report{
		Tool: "classcast loadtest", StartedAt: time.Now(), Target: cfg.URL,
		Host: report.Host{OS: runtime.GOOS, Arch: runtime.GOARCH, NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version()},
	}
	if cfg.Scenario == ScenarioAdapt {
		if cfg.Local {
			rep.Target = "local"
		}
		var err error
		rep.Adapt, err = runAdapt(ctx, &cfg)
		if rep.Adapt != nil {
			fmt.Fprintln(cfg.Progress)
			_ = rep.Adapt.WriteAdaptTable(cfg.Progress) // progress output is best effort
		}
		return rep, err
	}
	if cfg.Local {
		n, err := startLocalNode("127.0.0.1", cfg.Logger.With("component", "node"))
		if err != nil {
			return nil, err
		}
		defer closeLocalNode(n)
		cfg.useNode(n.URL())
		rep.Target = "local " + n.URL()
	}
	for _, prof := range cfg.Profiles {
		run, err := runProfile(ctx, &cfg, prof)
		if run != nil {
			rep.Runs = append(rep.Runs, *run)
		}
		if err != nil {
			return rep, err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return rep, nil
}

func runProfile(ctx context.Context, cfg *Config, prof Profile) (_ *report.Run, err error) {
	undo, err := prof.Apply(ctx)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", prof.Name(), err)
	}
	defer func() {
		if uerr := undo(); uerr != nil && err == nil {
			err = fmt.Errorf("profile %s: undo: %w", prof.Name(), uerr)
		}
	}()
	r, err := newRunner(cfg, prof)
	if err != nil {
		return nil, err
	}
	return r.run(ctx)
}

// runner is one scenario under one profile.
type runner struct {
	cfg     *Config
	name    string
	profile string
	sc      scenario
	parts   []*participant
	env     *joinEnv
	hc      *http.Client
	scrape  bool
	joined  atomic.Int64
	failed  atomic.Int64
	started time.Time
}

func newRunner(cfg *Config, prof Profile) (*runner, error) {
	se := cfg.settingEngine()
	noFB := cfg.DisableCongestionFeedback
	recvAPI, err := client.NewAPI(client.APIConfig{SettingEngine: se, ReceiveOnly: true, NoCongestionFeedback: noFB})
	if err != nil {
		return nil, err
	}
	fullAPI, err := client.NewAPI(client.APIConfig{SettingEngine: se, NoCongestionFeedback: noFB})
	if err != nil {
		return nil, err
	}
	room := cfg.RoomPrefix + "-" + prof.Name()
	r := &runner{
		cfg: cfg, name: cfg.Scenario + "/" + prof.Name(), profile: prof.Name(), sc: cfg.scenario(room),
		env:    &joinEnv{cfg: cfg, recvAPI: recvAPI, fullAPI: fullAPI, pumps: &sync.WaitGroup{}},
		hc:     &http.Client{Timeout: 5 * time.Second},
		scrape: cfg.MetricsURL != "off",
	}
	for _, pl := range append(append([]plan(nil), r.sc.leaders...), r.sc.members...) {
		r.parts = append(r.parts, &participant{plan: pl})
	}
	return r, nil
}

func (r *runner) run(ctx context.Context) (*report.Run, error) {
	log := r.cfg.Logger.With("run", r.name)
	r.started = time.Now()
	loadBefore := loadAverage()
	before := r.scrapeOnce(ctx, log)
	mediaCtx, stopMedia := context.WithCancel(context.Background())
	defer stopMedia()
	r.env.mediaCtx = mediaCtx
	rampTotal := time.Duration(float64(len(r.sc.members)) / r.cfg.Ramp * float64(time.Second))
	prog := newProgress(r.cfg, r.name, r.parts, &r.joined, rampTotal+r.cfg.Duration)
	prog.begin()

	var leaderErr error
	for _, p := range r.parts[:len(r.sc.leaders)] {
		if err := r.joinOne(ctx, p); err != nil {
			leaderErr = fmt.Errorf("%w: %w", ErrMasterJoin, err)
		}
	}
	if leaderErr == nil {
		r.ramp(ctx, r.parts[len(r.sc.leaders):])
	}
	rampDone := time.Now()
	steady := r.scrapeOnce(ctx, log)
	cpuSteady := selfCPU()
	if leaderErr == nil {
		select {
		case <-ctx.Done():
		case <-time.After(r.cfg.Duration):
		}
	}
	end := r.scrapeOnce(context.WithoutCancel(ctx), log)
	measured := time.Since(rampDone)
	cpuEnd := selfCPU()
	timeline := prog.stop()
	stopMedia()
	r.closeAll()
	r.env.pumps.Wait()
	r.hc.CloseIdleConnections()

	run := r.summarize(timeline)
	run.HostLoadBefore, run.HostLoadAfter = loadBefore, loadAverage()
	run.RampSeconds, run.DurationSeconds = rampDone.Sub(r.started).Seconds(), measured.Seconds()
	if measured > 0 {
		run.LoadGenCPUCores = (cpuEnd - cpuSteady).Seconds() / measured.Seconds()
	}
	run.Server = serverReport(before, steady, end, r.countRole(r.sc.measuredRole))
	log.Info("run finished", "joined", run.Joined, "failed", run.Failed, "loss", run.Summary.PacketLoss)
	return run, leaderErr
}

// ramp starts one join every 1/Ramp seconds; joins run concurrently and ramp returns when all ended.
func (r *runner) ramp(ctx context.Context, parts []*participant) {
	interval := time.Duration(float64(time.Second) / r.cfg.Ramp)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var wg sync.WaitGroup
	for i, p := range parts {
		if i > 0 {
			select {
			case <-ctx.Done():
				wg.Wait()
				return
			case <-tick.C:
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = r.joinOne(ctx, p) // kept in p.err and counted
		}()
	}
	wg.Wait()
}

func (r *runner) joinOne(ctx context.Context, p *participant) error {
	jctx, cancel := context.WithTimeout(ctx, client.DefaultJoinTimeout+publishTimeout)
	defer cancel()
	if err := p.join(jctx, r.env); err != nil {
		r.failed.Add(1)
		r.cfg.Logger.Warn("join failed", "identity", p.plan.identity, "err", err)
		return err
	}
	r.joined.Add(1)
	return nil
}

// scrapeOnce reads /metrics; after the first failure the run stops trying (a server without
// Prometheus metrics is fine).
func (r *runner) scrapeOnce(ctx context.Context, log interface{ Info(string, ...any) }) *metricSample {
	if !r.scrape {
		return nil
	}
	m, err := scrapeMetrics(ctx, r.hc, r.cfg.MetricsURL)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			log.Info("server metrics unavailable; skipping server figures", "url", r.cfg.MetricsURL, "err", err)
			r.scrape = false
		}
		return nil
	}
	return m
}

func (r *runner) closeAll() {
	sem := make(chan struct{}, closeParallelism)
	var wg sync.WaitGroup
	for _, p := range r.parts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			p.close()
		}()
	}
	wg.Wait()
}

func (r *runner) countRole(role string) int {
	n := 0
	for _, p := range r.parts {
		if p.plan.role == role && p.err == nil && !p.joinStart.IsZero() {
			n++
		}
	}
	return n
}
