// Package report holds the load test's results (one Run per scenario × network profile, so later
// scenarios add rows rather than new formats) and writes them as JSON or as a self-contained HTML page
// with inline SVG plots.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"time"
)

// Report is everything one `classcast loadtest` invocation measured.
type Report struct {
	Tool      string    `json:"tool"`
	StartedAt time.Time `json:"started_at"`
	// Target is the server URL the clients connected to.
	Target string `json:"target"`
	// Host describes the machine running the load tester (which shares CPUs with a local server).
	Host Host  `json:"host"`
	Runs []Run `json:"runs"`
	// Adapt is set by the adaptation scenario (which has no Runs).
	Adapt *Adapt `json:"adapt,omitempty"`
}

// Host is the load generator's machine.
type Host struct {
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
}

// Run is one scenario under one network profile.
type Run struct {
	// Name is "scenario/profile", unique in a report.
	Name     string    `json:"name"`
	Scenario string    `json:"scenario"`
	Profile  string    `json:"profile"`
	Params   Params    `json:"params"`
	Started  time.Time `json:"started"`
	// RampSeconds is how long joining took; DurationSeconds the measured window after it.
	RampSeconds     float64 `json:"ramp_seconds"`
	DurationSeconds float64 `json:"duration_seconds"`
	// LoadGenCPUCores is the load tester's own CPU use over the measured window (it competes with a
	// server on the same machine).
	LoadGenCPUCores float64 `json:"load_generator_cpu_cores"`
	// HostLoadBefore and HostLoadAfter are the machine's 1-minute load average around the run: other
	// work on a shared machine starves both server and clients.
	HostLoadBefore float64 `json:"host_load_before"`
	HostLoadAfter  float64 `json:"host_load_after"`
	// Participants is how many were planned, Joined how many connected, Failed how many did not.
	Participants int      `json:"participants"`
	Joined       int      `json:"joined"`
	Failed       int      `json:"failed"`
	Errors       []string `json:"errors,omitempty"`
	// Summary aggregates the measured subscribers (Params.MeasuredRole).
	Summary Summary `json:"summary"`
	// Server is nil when the server exposes no Prometheus /metrics.
	Server *Server `json:"server,omitempty"`
	// Timeline has one sample per progress tick.
	Timeline []Sample `json:"timeline"`
	// LatencyCDF is the end-to-end latency of every synthetic frame the measured subscribers received.
	LatencyCDF  []CDFPoint   `json:"latency_cdf"`
	Subscribers []Subscriber `json:"subscribers"`
}

// Params are the scenario's knobs as they were used.
type Params struct {
	Classrooms   int     `json:"classrooms,omitempty"`
	Stage        int     `json:"stage,omitempty"`
	ClassView    bool    `json:"class_view,omitempty"`
	Participants int     `json:"participants,omitempty"`
	Quality      string  `json:"quality"`
	Ramp         float64 `json:"ramp_per_second"`
	// MeasuredRole is the role whose subscribers Summary aggregates ("classroom" or "participant").
	MeasuredRole string `json:"measured_role"`
}

// Summary is the distribution over subscribers plus totals.
type Summary struct {
	Subscribers int `json:"subscribers"`
	// WithMedia counts subscribers that received at least one frame on every expected track.
	WithMedia int `json:"with_media"`
	// PacketLoss and FrameLoss are totals (lost / expected over all subscribers).
	PacketLoss float64 `json:"packet_loss"`
	FrameLoss  float64 `json:"frame_loss"`
	// WorstLoss is the largest per-subscriber max(packet loss, frame loss).
	WorstLoss       float64     `json:"worst_loss"`
	BitrateKbps     Dist        `json:"bitrate_kbps"`
	JitterMs        Dist        `json:"jitter_ms"`
	Latency         Percentiles `json:"latency_ms"`
	JoinMs          Dist        `json:"join_ms"`
	FirstFrameMs    Dist        `json:"first_frame_ms"`
	Freezes         uint64      `json:"freezes"`
	FreezeSeconds   float64     `json:"freeze_seconds"`
	AggregateRxMbps float64     `json:"aggregate_rx_mbps"`
}

// Dist summarises one value over subscribers.
type Dist struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// Percentiles of a latency in milliseconds.
type Percentiles struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
	N    uint64  `json:"n"`
}

// Server is what the server's /metrics said (classcast names; generic process_* and go_* metrics
// work for any Go or Prometheus-instrumented server).
type Server struct {
	// WindowSeconds is the steady window (all joined → end) CPU and packets are measured over.
	WindowSeconds float64 `json:"window_seconds"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	// CPUCores is CPUSeconds / WindowSeconds.
	CPUCores          float64 `json:"cpu_cores"`
	PacketsOut        float64 `json:"packets_out"`
	PacketsOutPerSec  float64 `json:"packets_out_per_second"`
	BytesOutPerSecond float64 `json:"bytes_out_per_second,omitempty"`
	Drops             float64 `json:"drops,omitempty"`
	// CPUMicrosPerPacket is CPU time per forwarded packet; 0 when the server does not count packets.
	CPUMicrosPerPacket float64 `json:"cpu_us_per_packet"`
	// RSS and Go memory (live heap after the last GC plus goroutine stacks) before the first join and
	// at the end; per subscriber is the growth divided by the number of joined measured subscribers.
	RSSBefore         float64  `json:"rss_before_bytes"`
	RSSAfter          float64  `json:"rss_after_bytes"`
	RSSPerSubscriber  float64  `json:"rss_per_subscriber_bytes"`
	HeapBefore        float64  `json:"go_memory_before_bytes"`
	HeapAfter         float64  `json:"go_memory_after_bytes"`
	HeapPerSubscriber float64  `json:"go_memory_per_subscriber_bytes"`
	GoroutinesAfter   float64  `json:"goroutines_after,omitempty"`
	GoroutinesPerSub  float64  `json:"goroutines_per_subscriber,omitempty"`
	Missing           []string `json:"missing,omitempty"`
}

// Sample is one point of the run's timeline.
type Sample struct {
	Seconds    float64 `json:"t"`
	Joined     int     `json:"joined"`
	RxMbps     float64 `json:"rx_mbps"`
	PacketLoss float64 `json:"packet_loss"`
	FramesPerS float64 `json:"frames_per_second"`
}

// CDFPoint says Fraction of the frames had latency ≤ Ms.
type CDFPoint struct {
	Ms       float64 `json:"ms"`
	Fraction float64 `json:"fraction"`
}

// Subscriber is one participant's reception.
type Subscriber struct {
	Identity string `json:"identity"`
	Role     string `json:"role"`
	// JoinMs is Connect's duration; FirstFrameMs from the start of Connect to the first video frame
	// (first audio packet if it receives no video), -1 if none arrived.
	JoinMs       float64     `json:"join_ms"`
	FirstFrameMs float64     `json:"first_frame_ms"`
	BitrateKbps  float64     `json:"bitrate_kbps"`
	PacketLoss   float64     `json:"packet_loss"`
	FrameLoss    float64     `json:"frame_loss"`
	JitterMs     float64     `json:"jitter_ms"`
	Freezes      uint64      `json:"freezes"`
	FreezeMs     float64     `json:"freeze_ms"`
	Frames       uint64      `json:"frames"`
	Latency      Percentiles `json:"latency_ms"`
	Tracks       []Track     `json:"tracks"`
	Error        string      `json:"error,omitempty"`
}

// Track is one received track of a subscriber.
type Track struct {
	SID         string      `json:"sid"`
	Publisher   string      `json:"publisher"`
	Kind        string      `json:"kind"`
	Width       int         `json:"width,omitempty"`
	Height      int         `json:"height,omitempty"`
	BitrateKbps float64     `json:"bitrate_kbps"`
	Packets     uint64      `json:"packets"`
	PacketsLost uint64      `json:"packets_lost"`
	Frames      uint64      `json:"frames"`
	FramesLost  uint64      `json:"frames_lost"`
	JitterMs    float64     `json:"jitter_ms"`
	Freezes     uint64      `json:"freezes"`
	Latency     Percentiles `json:"latency_ms"`
}

// WriteJSON writes r indented.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	return nil
}

// DistOf summarises values (NaN-free); the zero Dist for none.
func DistOf(values []float64) Dist {
	if len(values) == 0 {
		return Dist{}
	}
	v := append([]float64(nil), values...)
	sort.Float64s(v)
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return Dist{
		Min: v[0], Max: v[len(v)-1], Mean: sum / float64(len(v)),
		P50: nearestRank(v, 0.50), P95: nearestRank(v, 0.95), P99: nearestRank(v, 0.99),
	}
}

// nearestRank is the smallest value with at least q of the sorted values at or below it.
func nearestRank(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
