// Package testmedia runs real encoders (ffmpeg) as RTP publishers and real
// probes (ffprobe) for the recorder's tests.
package testmedia

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// Sink is what RTP is pumped into (a recorder track writer).
type Sink interface {
	WriteRTP(h *rtp.Header, payload []byte) (int, error)
	WriteSenderReport(wall time.Time, rtpTimestamp uint32)
}

// RequireFFmpeg skips the test when ffmpeg or ffprobe is absent.
func RequireFFmpeg(t testing.TB) {
	t.Helper()
	for _, b := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s not installed (apt-get install -y --no-install-recommends ffmpeg)", b)
		}
	}
}

// Port is a loopback RTP port with its RTCP port (RTP+1), as ffmpeg uses.
type Port struct {
	RTP, RTCP *net.UDPConn
	Num       int
}

// ListenPort binds an even/odd-agnostic pair p, p+1 on 127.0.0.1.
func ListenPort(t testing.TB) *Port {
	t.Helper()
	for range 50 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c2, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p + 1})
		if err != nil {
			c.Close()
			continue
		}
		_ = c.SetReadBuffer(4 << 20)
		t.Cleanup(func() { c.Close(); c2.Close() })
		return &Port{RTP: c, RTCP: c2, Num: p}
	}
	t.Fatal("no free RTP/RTCP port pair")
	return nil
}

// EncoderArgs are ffmpeg codec arguments by recorder codec name.
var EncoderArgs = map[string][]string{
	"h264": {"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
		"-g", "50", "-b:v", "600k", "-profile:v", "baseline"},
	"vp8":  {"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-lag-in-frames", "0", "-g", "50", "-b:v", "600k"},
	"vp9":  {"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-lag-in-frames", "0", "-g", "50", "-b:v", "600k", "-strict", "experimental"},
	"opus": {"-c:a", "libopus", "-b:a", "48k", "-ar", "48000", "-ac", "2"},
	"pcmu": {"-c:a", "pcm_mulaw", "-ar", "8000", "-ac", "1"},
	"pcma": {"-c:a", "pcm_alaw", "-ar", "8000", "-ac", "1"},
}

// Publish starts ffmpeg sending a test pattern (videoCodec, 640x360 25 fps)
// and a tone (audioCodec) in real time as RTP to the two ports, for d.
// size is WxH. Either codec may be empty. ffmpeg dies with the test
// process (Pdeathsig) so a killed child leaves no encoder behind.
func Publish(ctx context.Context, t testing.TB, d time.Duration, size, videoCodec string, vp *Port, audioCodec string, ap *Port) *exec.Cmd {
	t.Helper()
	secs := strconv.FormatFloat(d.Seconds(), 'f', 2, 64)
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin"}
	if videoCodec != "" {
		args = append(args, "-re", "-f", "lavfi", "-i", "testsrc2=size="+size+":rate=25")
	}
	if audioCodec != "" {
		args = append(args, "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000")
	}
	in := 0
	if videoCodec != "" {
		args = append(args, "-map", "0:v", "-t", secs)
		args = append(args, EncoderArgs[videoCodec]...)
		args = append(args, "-f", "rtp", "-payload_type", "96", fmt.Sprintf("rtp://127.0.0.1:%d?pkt_size=1200", vp.Num))
		in++
	}
	if audioCodec != "" {
		args = append(args, "-map", strconv.Itoa(in)+":a", "-t", secs)
		args = append(args, EncoderArgs[audioCodec]...)
		args = append(args, "-f", "rtp", "-payload_type", "111", fmt.Sprintf("rtp://127.0.0.1:%d?pkt_size=1200", ap.Num))
	}
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// Pump reads RTP and RTCP from p into s until ctx is done or no packet has
// come for idle (after the first one). It returns the RTP packet count.
func Pump(ctx context.Context, p *Port, s Sink, idle time.Duration) int {
	go pumpRTCP(ctx, p.RTCP, s)
	buf := make([]byte, 2048)
	var pkt rtp.Packet
	n := 0
	for ctx.Err() == nil {
		wait := idle
		if n == 0 {
			wait = 10 * time.Second
		}
		_ = p.RTP.SetReadDeadline(time.Now().Add(wait))
		m, _, err := p.RTP.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return n
			}
			return n
		}
		if pkt.Unmarshal(buf[:m]) != nil {
			continue
		}
		_, _ = s.WriteRTP(&pkt.Header, pkt.Payload)
		n++
	}
	return n
}

func pumpRTCP(ctx context.Context, c *net.UDPConn, s Sink) {
	buf := make([]byte, 1500)
	for ctx.Err() == nil {
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		m, _, err := c.ReadFromUDP(buf)
		if err != nil {
			continue
		}
		pkts, err := rtcp.Unmarshal(buf[:m])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			if sr, ok := p.(*rtcp.SenderReport); ok {
				s.WriteSenderReport(NTPTime(sr.NTPTime), sr.RTPTime)
			}
		}
	}
}

// NTPTime converts a 64-bit NTP timestamp to time.Time.
func NTPTime(ntp uint64) time.Time {
	const ntpEpochOffset = 2208988800
	secs := int64(ntp>>32) - ntpEpochOffset
	frac := int64(ntp&0xffffffff) * int64(time.Second) >> 32
	return time.Unix(secs, frac)
}

// Stream is one stream as ffprobe reports it.
type Stream struct {
	CodecName string `json:"codec_name"`
	CodecType string `json:"codec_type"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	StartTime string `json:"start_time"`
	Duration  string `json:"duration"`
	NbFrames  string `json:"nb_read_frames"`
}

// Probe is ffprobe's view of a file.
type Probe struct {
	Streams []Stream `json:"streams"`
	Format  struct {
		Duration  string `json:"duration"`
		StartTime string `json:"start_time"`
	} `json:"format"`
}

// FFprobe runs ffprobe -count_frames on file.
func FFprobe(t testing.TB, file string) Probe {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries",
		"format=duration,start_time:stream=codec_name,codec_type,width,height,start_time,duration,nb_read_frames",
		"-of", "json", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	var p Probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe json: %v", err)
	}
	return p
}

// Seconds parses an ffprobe time field.
func Seconds(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// Decode fully decodes file and fails on any decoder error.
func Decode(t testing.TB, file string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", file, "-f", "null", "-").CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("decode %s: %v\n%s", file, err, out)
	}
}
