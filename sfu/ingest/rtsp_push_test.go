package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"go.uber.org/goleak"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/sfu/node"
)

// TestRTSPPushToSubscriber: ffmpeg publishes H.264+Opus over RTSP (TCP with
// an access token as the password, UDP with the room's stream key) to a
// real node; a Go SDK subscriber in the room sees participant "cam" of kind
// INGRESS and receives H.264 keyframes and Opus.
func TestRTSPPushToSubscriber(t *testing.T) {
	needTool(t, "ffmpeg")
	t.Cleanup(func() { goleak.VerifyNone(t) })
	n := startNode(t, func(c *node.Config) { c.Ingest.StreamKeys = map[string]string{"lesson": "sk-lesson-1"} })
	for _, tc := range []struct{ transport, cred string }{
		{"tcp", "token"},
		{"udp", "streamkey"},
	} {
		t.Run(tc.transport, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sub := connect(t, ctx, n, "lesson", "viewer-"+tc.transport, grant(false, true), client.WithAutoDrain())
			pass := token(t, "lesson", "encoder", grant(true, false))
			if tc.cred == "streamkey" {
				pass = "sk-lesson-1"
			}
			url := fmt.Sprintf("rtsp://%s/lesson/cam?token=%s", n.RTSPAddr(), pass)
			if tc.cred == "streamkey" {
				url = fmt.Sprintf("rtsp://enc:%s@%s/lesson/cam", pass, n.RTSPAddr())
			}
			var stderr syncBuffer
			start := time.Now()
			ff := ffmpegPublish(ctx, url, tc.transport, "libopus", 20)
			ff.Stderr = &stderr
			if err := ff.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cancel(); _ = ff.Wait() }()

			var video *client.RemoteTrack
			waitFor(t, 15*time.Second, "cam's video at the subscriber: "+stderr.String(), func() bool {
				video = trackOf(sub, "cam", "video")
				return video != nil && video.Stats().Keyframes > 0
			})
			first := time.Since(start)
			if p := sub.Participant("cam"); p == nil || p.Info.Kind != livekit.ParticipantInfo_INGRESS {
				t.Fatalf("participant cam: %+v, want kind INGRESS", p)
			}
			if mt := video.Codec().MimeType; !strings.EqualFold(mt, "video/H264") {
				t.Fatalf("video codec %s", mt)
			}
			waitFor(t, 5*time.Second, "opus at the subscriber", func() bool {
				a := trackOf(sub, "cam", "audio")
				return a != nil && a.Stats().Packets > 20
			})
			time.Sleep(2 * time.Second)
			st := video.Stats()
			if st.Keyframes < 2 || st.Frames < 40 {
				t.Fatalf("after 2 s more: %d frames, %d keyframes", st.Frames, st.Keyframes)
			}
			t.Logf("RTSP %s push → SFU → subscriber: first keyframe %v after ffmpeg start; %d frames, %d keyframes",
				tc.transport, first.Round(time.Millisecond), st.Frames, st.Keyframes)
			// ffmpeg stopped with SIGINT sends TEARDOWN: the participant leaves at once.
			_ = ff.Process.Signal(os.Interrupt)
			_ = ff.Wait()
			left := waitFor(t, 10*time.Second, "cam to leave", func() bool { return sub.Participant("cam") == nil })
			t.Logf("cam left %v after ffmpeg stopped", left.Round(time.Millisecond))
		})
	}
}

// TestRTSPPushRefusals: AAC is refused with the reason and the fix, wrong
// credentials with 401, a token for another room too, a bad path with 400;
// the node keeps serving a good publisher in another room meanwhile.
func TestRTSPPushRefusals(t *testing.T) {
	needTool(t, "ffmpeg")
	t.Cleanup(func() { goleak.VerifyNone(t) })
	n := startNode(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := connect(t, ctx, n, "good", "viewer", grant(false, true), client.WithAutoDrain())
	good := ffmpegPublish(ctx, fmt.Sprintf("rtsp://%s/good/cam?token=%s", n.RTSPAddr(), token(t, "good", "enc", grant(true, false))),
		"tcp", "libopus", 30)
	if err := good.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = good.Wait() }()
	waitFor(t, 15*time.Second, "good publisher", func() bool {
		v := trackOf(sub, "cam", "video")
		return v != nil && v.Stats().Keyframes > 0
	})

	pub := token(t, "lesson", "enc", grant(true, false))
	cases := []struct{ name, url, audio, want string }{
		{"aac", fmt.Sprintf("rtsp://%s/lesson/cam?token=%s", n.RTSPAddr(), pub), "aac", "AAC"},
		{"wrong password", fmt.Sprintf("rtsp://u:nope@%s/lesson/cam", n.RTSPAddr()), "libopus", "401"},
		{"no credentials", fmt.Sprintf("rtsp://%s/lesson/cam", n.RTSPAddr()), "libopus", "401"},
		{"other room's token", fmt.Sprintf("rtsp://%s/other/cam?token=%s", n.RTSPAddr(), pub), "libopus", "401"},
		{"subscribe-only token", fmt.Sprintf("rtsp://%s/lesson/cam?token=%s", n.RTSPAddr(), token(t, "lesson", "x", grant(false, true))), "libopus", "401"},
		{"bad path", fmt.Sprintf("rtsp://%s/lesson?token=%s", n.RTSPAddr(), pub), "libopus", "400"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr syncBuffer
			ff := ffmpegPublish(ctx, tc.url, "tcp", tc.audio, 3)
			ff.Stderr = &stderr
			err := ff.Run()
			if err == nil {
				t.Fatalf("ffmpeg succeeded; stderr: %s", stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("ffmpeg stderr lacks %q: %s", tc.want, stderr.String())
			}
			t.Logf("ffmpeg: %s", strings.TrimSpace(stderr.String()))
		})
	}
	before := trackOf(sub, "cam", "video").Stats().Frames
	time.Sleep(time.Second)
	if after := trackOf(sub, "cam", "video").Stats().Frames; after <= before {
		t.Fatalf("good room stalled: %d → %d frames", before, after)
	}
}

// syncBuffer collects a child process's stderr while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
