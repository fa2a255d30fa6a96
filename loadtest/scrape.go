package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/classcast/classcast/loadtest/report"
)

// Metric names read from the server. process_* and go_* are what any Go server with the standard
// Prometheus collectors exposes; the forward counters are classcast's.
const (
	metricCPU        = "process_cpu_seconds_total"
	metricRSS        = "process_resident_memory_bytes"
	metricHeap       = "go_memstats_heap_inuse_bytes"
	metricNextGC     = "go_memstats_next_gc_bytes"
	metricGOGC       = "go_gc_gogc_percent"
	metricStacks     = "go_memstats_stack_inuse_bytes"
	metricGoroutines = "go_goroutines"
	metricPacketsOut = "classcast_forward_packets_out_total"
	metricBytesOut   = "classcast_forward_bytes_out_total"
	metricDrops      = "classcast_forward_drops_total"
)

// metricSample is one scrape: every series summed per metric name.
type metricSample struct {
	at     time.Time
	values map[string]float64
}

func (m *metricSample) get(name string) (float64, bool) {
	if m == nil {
		return 0, false
	}
	v, ok := m.values[name]
	return v, ok
}

// scrapeMetrics reads a Prometheus text exposition.
func scrapeMetrics(ctx context.Context, hc *http.Client, url string) (*metricSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrScrape, err)
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrScrape, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s: %s", ErrScrape, url, res.Status)
	}
	values, err := parseMetrics(res.Body)
	if err != nil {
		return nil, err
	}
	return &metricSample{at: time.Now(), values: values}, nil
}

// parseMetrics sums the samples of each metric name (labels dropped) from the text format.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := splitSeries(line)
		fields := strings.Fields(rest)
		if name == "" || len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		out[name] += v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrScrape, err)
	}
	return out, nil
}

// splitSeries returns the metric name and what follows its label set.
func splitSeries(line string) (name, rest string) {
	i := strings.IndexAny(line, "{ \t")
	if i < 0 {
		return "", ""
	}
	name = line[:i]
	if line[i] != '{' {
		return name, line[i:]
	}
	inQuote, escaped := false, false
	for j := i + 1; j < len(line); j++ {
		c := line[j]
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			inQuote = !inQuote
		case c == '}' && !inQuote:
			return name, line[j+1:]
		}
	}
	return "", ""
}

// goMemory estimates a Go server's live memory: the heap marked live by the last GC (the next GC
// target divided by 1+GOGC/100, far steadier than heap_inuse, which includes garbage) plus goroutine
// stacks. Without next_gc it falls back to heap_inuse.
func goMemory(m *metricSample) float64 {
	stacks, _ := m.get(metricStacks)
	next, ok := m.get(metricNextGC)
	if !ok {
		heap, _ := m.get(metricHeap)
		return heap + stacks
	}
	gogc, ok := m.get(metricGOGC)
	if !ok || gogc <= 0 {
		gogc = 100
	}
	return next/(1+gogc/100) + stacks
}

// serverReport turns three scrapes into the run's server figures: before the first join (memory
// baseline), after the last join (start of the steady window) and at the end.
func serverReport(before, steady, end *metricSample, subscribers int) *report.Server {
	if end == nil {
		return nil
	}
	s := &report.Server{}
	for _, name := range []string{metricCPU, metricRSS, metricHeap, metricPacketsOut} {
		if _, ok := end.get(name); !ok {
			s.Missing = append(s.Missing, name)
		}
	}
	delta := func(name string) float64 {
		a, okA := steady.get(name)
		b, okB := end.get(name)
		if !okA || !okB {
			return 0
		}
		return b - a
	}
	if steady != nil {
		s.WindowSeconds = end.at.Sub(steady.at).Seconds()
	}
	s.CPUSeconds, s.PacketsOut, s.Drops = delta(metricCPU), delta(metricPacketsOut), delta(metricDrops)
	if s.WindowSeconds > 0 {
		s.CPUCores = s.CPUSeconds / s.WindowSeconds
		s.PacketsOutPerSec = s.PacketsOut / s.WindowSeconds
		s.BytesOutPerSecond = delta(metricBytesOut) / s.WindowSeconds
	}
	if s.PacketsOut > 0 {
		s.CPUMicrosPerPacket = s.CPUSeconds / s.PacketsOut * 1e6
	}
	s.RSSBefore, _ = before.get(metricRSS)
	s.RSSAfter, _ = end.get(metricRSS)
	s.HeapBefore, s.HeapAfter = goMemory(before), goMemory(end)
	s.GoroutinesAfter, _ = end.get(metricGoroutines)
	if subscribers > 0 && before != nil {
		s.RSSPerSubscriber = (s.RSSAfter - s.RSSBefore) / float64(subscribers)
		s.HeapPerSubscriber = (s.HeapAfter - s.HeapBefore) / float64(subscribers)
		if g, ok := before.get(metricGoroutines); ok {
			s.GoroutinesPerSub = (s.GoroutinesAfter - g) / float64(subscribers)
		}
	}
	return s
}
