package cascade

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/classcast/classcast/sfu/track"
)

// latencyProducer records the one-hop delay of packets whose payload starts
// with the send time (unix nanos).
type latencyProducer struct {
	mu  sync.Mutex
	lat []time.Duration
}

func (p *latencyProducer) WriteRTP(_ int, pkt *rtp.Packet) error {
	if len(pkt.Payload) >= 8 {
		sent := int64(binary.BigEndian.Uint64(pkt.Payload))
		p.mu.Lock()
		p.lat = append(p.lat, time.Duration(time.Now().UnixNano()-sent))
		p.mu.Unlock()
	}
	return nil
}
func (p *latencyProducer) OnKeyframeRequest(func(int)) {}
func (p *latencyProducer) Close()                      {}

// fanOrigin attaches every child's sink (fakeOrigin keeps the last one).
type fanOrigin struct {
	*fakeOrigin
	mu    sync.Mutex
	sinks []track.RTPWriter
}

func (o *fanOrigin) AttachLayer(room, sid string, layer int, w track.RTPWriter) (LayerAttachment, error) {
	o.mu.Lock()
	o.sinks = append(o.sinks, w)
	o.mu.Unlock()
	return o.fakeOrigin.AttachLayer(room, sid, layer, w)
}

func (o *fanOrigin) publishAll(seq uint16, payload []byte) {
	h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, SSRC: 0x1234}
	o.mu.Lock()
	sinks := slices.Clone(o.sinks)
	o.mu.Unlock()
	for _, w := range sinks {
		_, _ = w.WriteRTP(&h, payload)
	}
}

func rusage() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestHopReport measures, on loopback, the latency one cascade hop adds
// (parent's layer sink → media-plane packet → child's producer) and the cost
// of serving E children one 1.5 Mbit/s layer (170 packets/s of 1,100
// bytes). Run with CASCADE_REPORT=1; it writes testdata/hops.svg and prints
// the RESULTS.md table.
func TestHopReport(t *testing.T) {
	if os.Getenv("CASCADE_REPORT") == "" {
		t.Skip("benchmark report: set CASCADE_REPORT=1")
	}
	type row struct {
		children       int
		p50, p99       time.Duration
		cpuPerSec      time.Duration
		egressKbps     float64
		sentPerChildPS float64
	}
	var rows []row
	for _, children := range []int{1, 2, 4, 8, 16} {
		origin := &fanOrigin{fakeOrigin: newFakeOrigin()}
		srv, err := Listen(ServerConfig{NodeID: "origin", Addr: "127.0.0.1:0", Auth: Auth{ClusterSecret: testSecret},
			Upstream: origin, Packets: origin, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		var links []*Link
		var prods []*latencyProducer
		for i := range children {
			l, err := Dial(LinkConfig{NodeID: fmt.Sprintf("edge-%d", i), ParentAddr: srv.Addr().String(),
				Auth: Auth{ClusterSecret: testSecret}, Logger: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			p := &latencyProducer{}
			s, _ := l.Subscribe("room", "TR_cam", []int{0}, p)
			<-s.Ready()
			links, prods = append(links, l), append(prods, p)
		}
		eventually(t, "attached", 5*time.Second, func() bool { return origin.attached("TR_cam", 0) })
		time.Sleep(200 * time.Millisecond)
		payload := make([]byte, 1100)
		const seconds, pps = 3, 170
		before, start := rusage(), time.Now()
		sent0 := srv.Stats().Sent
		tick := time.NewTicker(time.Second / pps)
		for i := range seconds * pps {
			<-tick.C
			binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
			origin.publishAll(uint16(i), payload)
		}
		tick.Stop()
		time.Sleep(100 * time.Millisecond)
		elapsed, cpu := time.Since(start), rusage()-before
		sent := srv.Stats().Sent - sent0
		var all []time.Duration
		for _, p := range prods {
			p.mu.Lock()
			all = append(all, p.lat...)
			p.mu.Unlock()
		}
		slices.Sort(all)
		r := row{children: children, cpuPerSec: time.Duration(float64(cpu) / elapsed.Seconds()),
			egressKbps: float64(sent) * 1104 * 8 / elapsed.Seconds() / 1000, sentPerChildPS: float64(sent) / elapsed.Seconds() / float64(children)}
		if len(all) > 0 {
			r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
		}
		rows = append(rows, r)
		for _, l := range links {
			l.Close()
		}
		srv.Close()
	}
	var b strings.Builder
	fmt.Fprintln(&b, "| children | hop p50 | hop p99 | CPU (parent+children, ms/s) | parent egress (kbit/s) | packets/s per child |")
	fmt.Fprintln(&b, "|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d | %v | %v | %.0f | %.0f | %.0f |\n", r.children, r.p50.Round(10*time.Microsecond),
			r.p99.Round(10*time.Microsecond), float64(r.cpuPerSec)/1e6, r.egressKbps, r.sentPerChildPS)
	}
	t.Log("\n" + b.String())
	xs, cpu, bw := make([]float64, len(rows)), make([]float64, len(rows)), make([]float64, len(rows))
	for i, r := range rows {
		xs[i], cpu[i], bw[i] = float64(r.children), float64(r.cpuPerSec)/1e6, r.egressKbps/1000
	}
	if err := os.WriteFile("testdata/hops.svg", []byte(plotSVG(xs, cpu, bw)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// plotSVG draws two series against the number of children.
func plotSVG(xs, cpu, bw []float64) string {
	const w, h, m = 480, 280, 40
	maxX, maxY := xs[len(xs)-1], 0.0
	for i := range xs {
		maxY = max(maxY, cpu[i], bw[i])
	}
	maxY *= 1.1
	pt := func(x, y float64) string {
		return fmt.Sprintf("%.1f,%.1f", m+x/maxX*(w-2*m), h-m-y/maxY*(h-2*m))
	}
	line := func(ys []float64, color string) string {
		var pts []string
		for i := range xs {
			pts = append(pts, pt(xs[i], ys[i]))
		}
		return fmt.Sprintf(`<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, color, strings.Join(pts, " "))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`,
		m, h-m, w-m, h-m, m, m, m, h-m)
	b.WriteString(line(cpu, "#c33") + line(bw, "#36c"))
	for _, x := range xs {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%g</text>`, m+x/maxX*(w-2*m), h-m+14, x)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">cascade children (edges)</text>`, w/2, h-8)
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#c33">CPU ms/s (parent+children, one process)</text>`, m+10, m-18)
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#36c">parent egress Mbit/s (one 1.5 Mbit/s layer)</text>`, m+10, m-4)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%.0f</text></svg>`, m-4, m+4, maxY)
	return b.String()
}
