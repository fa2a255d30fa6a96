package loadtest

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/classcast/classcast/loadtest/report"
	"github.com/classcast/classcast/loadtest/stats"
)

// progress samples the run once a second: it keeps the timeline for the report and draws a bar on
// a terminal (or prints a plain line every ProgressEvery otherwise). It is owned by the run: start,
// then stop, which waits for its goroutine.
type progress struct {
	w        io.Writer
	tty      bool
	every    time.Duration
	name     string
	parts    []*participant
	joined   *atomic.Int64
	start    time.Time
	total    time.Duration
	timeline []report.Sample
	lastLine time.Time
	prev     stats.Live
	prevAt   time.Time

	stopCh chan struct{}
	done   chan struct{}
}

func newProgress(cfg *Config, name string, parts []*participant, joined *atomic.Int64, total time.Duration) *progress {
	return &progress{
		w: cfg.Progress, tty: cfg.ProgressTTY, every: cfg.ProgressEvery, name: name, parts: parts, joined: joined,
		total: total, stopCh: make(chan struct{}), done: make(chan struct{}),
	}
}

func (p *progress) run() {
	defer close(p.done)
	p.start, p.prevAt, p.lastLine = time.Now(), time.Now(), time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-p.stopCh:
			p.sample(time.Now(), true)
			return
		case now := <-tick.C:
			p.sample(now, false)
		}
	}
}

func (p *progress) begin() { go p.run() }

// stop takes a last sample, ends the bar's line and returns the timeline.
func (p *progress) stop() []report.Sample {
	close(p.stopCh)
	<-p.done
	return p.timeline
}

func (p *progress) sample(now time.Time, last bool) {
	var l stats.Live
	for _, part := range p.parts {
		l = l.Add(part.live())
	}
	dt := now.Sub(p.prevAt).Seconds()
	s := report.Sample{Seconds: now.Sub(p.start).Seconds(), Joined: int(p.joined.Load())}
	if dt > 0 {
		s.RxMbps = float64(l.Bytes-p.prev.Bytes) * 8 / dt / 1e6
		s.FramesPerS = float64(l.Frames-p.prev.Frames) / dt
	}
	if l.ExpectedPackets > 0 && l.ExpectedPackets > l.Packets {
		s.PacketLoss = float64(l.ExpectedPackets-l.Packets) / float64(l.ExpectedPackets)
	}
	frameLoss := 0.0
	if n := l.Frames + l.FramesLost; n > 0 {
		frameLoss = float64(l.FramesLost) / float64(n)
	}
	if dt > 0.2 || len(p.timeline) == 0 {
		p.timeline = append(p.timeline, s)
		p.prev, p.prevAt = l, now
	}
	line := fmt.Sprintf("%s joined %d/%d  %s/%s  rx %.1f Mbit/s  loss %.3f%%  frame loss %.3f%%",
		p.name, s.Joined, len(p.parts), now.Sub(p.start).Truncate(time.Second), p.total.Truncate(time.Second),
		s.RxMbps, s.PacketLoss*100, frameLoss*100)
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r\x1b[K%s %s", bar(now.Sub(p.start), p.total, 24), line)
		if last {
			fmt.Fprintln(p.w)
		}
	case last || now.Sub(p.lastLine) >= p.every:
		fmt.Fprintln(p.w, line)
		p.lastLine = now
	}
}

func bar(done, total time.Duration, width int) string {
	filled := width
	if total > 0 && done < total {
		filled = int(float64(width) * float64(done) / float64(total))
	}
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "]"
}
