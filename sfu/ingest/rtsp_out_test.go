package ingest_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestRTSPOutputFFprobe: a Go SDK teacher publishes H.264+Opus over WebRTC;
// ffprobe reads rtsp://…/lesson/teacher with a canSubscribe token (TCP and
// UDP) and finds h264 320x… video and opus audio with packets flowing; a
// token without canSubscribe, or for another room, is refused with 401, an
// unknown participant is 404.
func TestRTSPOutputFFprobe(t *testing.T) {
	needTool(t, "ffprobe")
	t.Cleanup(func() { goleak.VerifyNone(t) })
	n := startNode(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	teacher := connect(t, ctx, n, "lesson", "teacher", grant(true, false))
	publishH264(t, ctx, &pumps, teacher)
	waitFor(t, 10*time.Second, "teacher's tracks", func() bool {
		r, _ := n.Rooms().Get("lesson")
		return r != nil && len(participantTracks(r.Participants(), "teacher")) == 2
	})
	tok := token(t, "lesson", "vlc", grant(false, true))
	url := fmt.Sprintf("rtsp://%s/lesson/teacher?token=%s", n.RTSPAddr(), tok)

	for _, transport := range []string{"tcp", "udp"} {
		start := time.Now()
		out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rtsp_transport", transport,
			"-show_entries", "stream=codec_name,width,height", "-of", "compact", url).CombinedOutput()
		if err != nil {
			t.Fatalf("ffprobe %s: %v\n%s", transport, err, out)
		}
		s := string(out)
		// The first reader starts at a keyframe (the output drops H.264
		// until one) and must decode cleanly; a later reader joins the
		// shared stream mid-GOP, and the decoder may complain until the
		// keyframe its PLAY requested arrives.
		clean := s == "stream|codec_name=h264|width=640|height=360\nstream|codec_name=opus\n"
		if (transport == "tcp" && !clean) || !strings.HasSuffix(s, "stream|codec_name=h264|width=640|height=360\nstream|codec_name=opus\n") {
			t.Fatalf("ffprobe %s: %s", transport, s)
		}
		t.Logf("ffprobe over %s: %v, %d output lines", transport, time.Since(start).Round(time.Millisecond), strings.Count(s, "\n"))
	}
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-select_streams", "v",
		"-read_intervals", "%+3", "-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", url).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe count: %v\n%s", err, out)
	}
	var pkts int
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if _, err := fmt.Sscan(lines[len(lines)-1], &pkts); err != nil || pkts < 50 {
		t.Fatalf("ffprobe read %q video packets in 3 s", out)
	}
	t.Logf("ffprobe read %d video packets in 3 s", pkts)

	for _, tc := range []struct{ name, url, want string }{
		{"publish-only token", fmt.Sprintf("rtsp://%s/lesson/teacher?token=%s", n.RTSPAddr(), token(t, "lesson", "x", grant(true, false))), "401"},
		{"other room's token", fmt.Sprintf("rtsp://%s/lesson/teacher?token=%s", n.RTSPAddr(), token(t, "other", "x", grant(false, true))), "401"},
		{"no credentials", fmt.Sprintf("rtsp://%s/lesson/teacher", n.RTSPAddr()), "401"},
		{"unknown participant", fmt.Sprintf("rtsp://%s/lesson/nobody?token=%s", n.RTSPAddr(), tok), "404"},
	} {
		out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rtsp_transport", "tcp", tc.url).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Fatalf("%s: err %v, output %s", tc.name, err, out)
		}
	}
}
