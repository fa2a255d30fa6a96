package report

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Adapt is the bandwidth-adaptation scenario: one classroom whose downlink goes through a shaped
// link (network namespace, tc tbf, nftables loss) and one reference classroom on a clean link,
// both receiving the same teacher, through a sequence of link conditions (steps).
type Adapt struct {
	// Mode is "local" (in-process node bound to the lab's host address) or "remote".
	Mode string `json:"mode"`
	// Lab is the namespace and addresses used.
	Lab string `json:"lab"`
	// WarmupMs is from the shaped classroom's join to its first top-layer frame (-1 if never).
	WarmupMs       float64     `json:"warmup_to_top_layer_ms"`
	HostLoadBefore float64     `json:"host_load_before"`
	HostLoadAfter  float64     `json:"host_load_after"`
	Steps          []AdaptStep `json:"steps"`
	// Timeline samples both classrooms' receive rate every half second.
	Timeline []AdaptSample `json:"timeline"`
	Errors   []string      `json:"errors,omitempty"`
}

// AdaptStep is one link condition, measured from the moment it was applied for HoldSeconds.
// Times are -1 when the target was not reached within the step.
type AdaptStep struct {
	Name    string  `json:"name"`
	Rate    string  `json:"rate"` // tc rate, "" = uncapped
	LossPct int     `json:"loss_pct"`
	StartS  float64 `json:"start_s"`
	HoldS   float64 `json:"hold_s"`
	// Target is what the step waits for: "lowest layer", "video paused", "top layer" or "".
	Target string `json:"target,omitempty"`
	// DownSwitchMs is cap applied → first frame of the lowest layer (or the pause, for a cap
	// below the lowest layer). RecoverMs is cap lifted → first top-layer frame.
	DownSwitchMs float64 `json:"down_switch_ms"`
	RecoverMs    float64 `json:"recover_ms"`
	// EndLayer is the resolution received at the end of the step ("paused" when paused).
	EndLayer string `json:"end_layer"`
	// Audio continuity of the shaped classroom.
	AudioMaxGapMs    float64 `json:"audio_max_gap_ms"`
	AudioPacketsLost uint64  `json:"audio_packets_lost"`
	AudioPackets     uint64  `json:"audio_packets"`
	// VideoFreezeMs sums the gaps longer than 500 ms between video frames (a paused video freezes).
	VideoFreezeMs float64 `json:"video_freeze_ms"`
	VideoFrames   uint64  `json:"video_frames"`
	// VideoLoss is the fraction of video RTP packets never received (after NACK/RTX repair).
	VideoLoss float64 `json:"video_unrecovered_loss"`
	RxKbps    float64 `json:"rx_kbps"`
	// The reference classroom over the same window.
	RefFreezeMs float64 `json:"reference_freeze_ms"`
	RefFrames   uint64  `json:"reference_frames"`
	RefLoss     float64 `json:"reference_unrecovered_loss"`
	RefLayer    string  `json:"reference_layer"`
	// Server's view (local mode only): bandwidth estimate and forwarded spatial layer at the end.
	ServerEstimateKbps int    `json:"server_estimate_kbps,omitempty"`
	ServerLayer        *int   `json:"server_layer,omitempty"`
	ServerReasons      string `json:"server_pause_reasons,omitempty"`
}

// AdaptSample is one point of the adaptation timeline.
type AdaptSample struct {
	Seconds    float64 `json:"t"`
	ShapedKbps float64 `json:"shaped_kbps"`
	RefKbps    float64 `json:"reference_kbps"`
	ShapedW    int     `json:"shaped_width"`
	Step       string  `json:"step"`
}

func msOrDash(v float64) string {
	if v < 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f", v)
}

// WriteAdaptTable writes the steps as a plain-text table (the command's stdout summary).
func (a *Adapt) WriteAdaptTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "step\tdown-switch ms\trecover ms\tend layer\taudio max gap ms\taudio lost\tvideo freeze ms\tvideo unrecovered loss\trx kbit/s\tref freeze ms\tref loss\tserver est kbit/s\t\n")
	for _, s := range a.Steps {
		est := "—"
		if s.ServerLayer != nil {
			est = fmt.Sprint(s.ServerEstimateKbps)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0f\t%d/%d\t%.0f\t%.2f%%\t%.0f\t%.0f\t%.2f%%\t%s\t\n",
			s.Name, msOrDash(s.DownSwitchMs), msOrDash(s.RecoverMs), s.EndLayer, s.AudioMaxGapMs,
			s.AudioPacketsLost, s.AudioPackets, s.VideoFreezeMs, s.VideoLoss*100, s.RxKbps,
			s.RefFreezeMs, s.RefLoss*100, est)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
