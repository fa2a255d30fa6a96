package rtsp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(&tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type tWriter struct{ t *testing.T }

func (w *tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func startServer(t *testing.T, h Host, mutate func(*ServerConfig)) (*Server, string) {
	t.Helper()
	rtpPort, rtcpPort := freeUDPPair(t)
	cfg := ServerConfig{
		Host: h, Auth: keyAuth{}, Logger: testLogger(t),
		Address:        "127.0.0.1:0",
		UDPRTPAddress:  fmt.Sprintf("127.0.0.1:%d", rtpPort),
		UDPRTCPAddress: fmt.Sprintf("127.0.0.1:%d", rtcpPort),
		OutputIdle:     time.Second,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, s.Addr().String()
}

// ffmpegPublish runs ffmpeg publishing test video (+ audio codec) to url.
func ffmpegPublish(ctx context.Context, url, transport, audioCodec string, seconds int) *exec.Cmd {
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin",
		"-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
		"-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", fmt.Sprint(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-g", "25",
		"-c:a", audioCodec, "-b:a", "64k",
		"-f", "rtsp", "-rtsp_transport", transport, url}
	return exec.CommandContext(ctx, "ffmpeg", args...)
}

// TestPushFFmpeg publishes H.264+Opus with ffmpeg over TCP and over UDP and
// checks what the SFU receives: codec parameters from the SDP, decodable
// access units, keyframes that each carry SPS and PPS, and Opus packets.
func TestPushFFmpeg(t *testing.T) {
	needTool(t, "ffmpeg")
	for _, transport := range []string{"tcp", "udp"} {
		t.Run(transport, func(t *testing.T) {
			h, sfu := newLoopHost()
			_, addr := startServer(t, h, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stderr bytes.Buffer
			cmd := ffmpegPublish(ctx, "rtsp://anyone:sk-good@"+addr+"/room1/teacher", transport, "libopus", 3)
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pub := waitPublished(t, sfu, 10*time.Second)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, stderr.String())
			}
			select {
			case <-pub.closed:
			case <-time.After(5 * time.Second):
				t.Fatal("participant not unpublished after ffmpeg ended")
			}
			if pub.key != "room1/teacher" || pub.name != "teacher" || len(pub.tracks) != 2 {
				t.Fatalf("published %q name %q with %d tracks", pub.key, pub.name, len(pub.tracks))
			}
			video, audio := pub.tracks[0], pub.tracks[1]
			vi, ai := video.Info(), audio.Info()
			if vi.Codec.MimeType != "video/H264" || vi.Source != livekit.TrackSource_CAMERA ||
				!strings.Contains(vi.Codec.SDPFmtpLine, "packetization-mode=1") ||
				!strings.Contains(vi.Codec.SDPFmtpLine, "profile-level-id=") {
				t.Fatalf("video track %+v", vi)
			}
			if ai.Codec.MimeType != "audio/opus" || ai.Codec.ClockRate != 48000 || ai.Source != livekit.TrackSource_MICROPHONE {
				t.Fatalf("audio track %+v", ai)
			}
			aus, keyframes, withParams := decodeH264(t, drain(video.packets))
			nAudio := len(drain(audio.packets))
			t.Logf("%s: fmtp %q, %d access units, %d keyframes (%d with SPS+PPS), %d opus packets",
				transport, vi.Codec.SDPFmtpLine, aus, keyframes, withParams, nAudio)
			if aus < 50 || keyframes < 2 || withParams != keyframes || nAudio < 100 {
				t.Fatalf("got %d AUs, %d keyframes, %d with SPS+PPS, %d audio packets", aus, keyframes, withParams, nAudio)
			}
		})
	}
}

func drain(c chan rtp.Packet) []rtp.Packet {
	var out []rtp.Packet
	for {
		select {
		case p := <-c:
			out = append(out, p)
		default:
			return out
		}
	}
}

// decodeH264 depacketizes packets into access units and counts keyframes and
// keyframes that carry SPS and PPS in-band (what a late WebRTC joiner needs).
func decodeH264(t *testing.T, pkts []rtp.Packet) (aus, keyframes, withParams int) {
	t.Helper()
	dec := &rtph264.Decoder{PacketizationMode: 1}
	if err := dec.Init(); err != nil {
		t.Fatal(err)
	}
	for i := range pkts {
		au, err := dec.Decode(&pkts[i])
		if err != nil {
			continue // needs more packets
		}
		aus++
		var sps, pps, idr bool
		for _, n := range au {
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				var s h264.SPS
				if err := s.Unmarshal(n); err != nil || s.Width() != 320 || s.Height() != 240 {
					t.Fatalf("bad SPS %v (%dx%d)", err, s.Width(), s.Height())
				}
				sps = true
			case h264.NALUTypePPS:
				pps = true
			case h264.NALUTypeIDR:
				idr = true
			}
		}
		if idr {
			keyframes++
			if sps && pps {
				withParams++
			}
		}
	}
	return aus, keyframes, withParams
}
