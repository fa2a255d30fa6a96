package rtsp

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestFFprobeReadsOutput: ffmpeg publishes H.264+Opus, ffprobe reads the
// participant back over RTSP (TCP and UDP) and sees h264 320x240 and opus,
// and counts packets of both.
func TestFFprobeReadsOutput(t *testing.T) {
	needTool(t, "ffmpeg", "ffprobe")
	h, sfu := newLoopHost()
	// BasicOnly: the reader uses a LiveKit-style token, which Digest cannot carry.
	_, addr := startServer(t, h, func(c *ServerConfig) { c.BasicOnly = true })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var pubErr bytes.Buffer
	pub := ffmpegPublish(ctx, "rtsp://u:sk-good@"+addr+"/room1/teacher", "tcp", "libopus", 20)
	pub.Stderr = &pubErr
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = pub.Process.Kill()
		_ = pub.Wait()
	}()
	p := waitPublished(t, sfu, 10*time.Second)
	for _, transport := range []string{"tcp", "udp"} {
		out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rtsp_transport", transport,
			"-read_intervals", "%+3", "-count_packets",
			"-show_entries", "stream=codec_type,codec_name,width,height,nb_read_packets", "-of", "compact",
			"rtsp://viewer:tok-good@"+addr+"/room1/teacher").CombinedOutput()
		if err != nil {
			t.Fatalf("ffprobe %s: %v\n%s\npublisher: %s", transport, err, out, pubErr.String())
		}
		s := string(out)
		t.Logf("ffprobe over %s:\n%s", transport, strings.TrimSpace(s))
		video := lineWith(s, "codec_type=video")
		audio := lineWith(s, "codec_type=audio")
		if !strings.Contains(video, "codec_name=h264") || !strings.Contains(video, "width=320") ||
			!strings.Contains(video, "height=240") || packetsIn(video) < 25 {
			t.Fatalf("video stream: %q", video)
		}
		if !strings.Contains(audio, "codec_name=opus") || packetsIn(audio) < 50 {
			t.Fatalf("audio stream: %q", audio)
		}
	}
	// each PLAY asked the publisher's tracks for a keyframe
	p.tracks[0].mu.Lock()
	kf := p.tracks[0].keyframes
	p.tracks[0].mu.Unlock()
	if kf < 2 {
		t.Fatalf("keyframe requests on PLAY: %d", kf)
	}
}

func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func packetsIn(line string) int {
	_, v, ok := strings.Cut(line, "nb_read_packets=")
	if !ok {
		return 0
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}
