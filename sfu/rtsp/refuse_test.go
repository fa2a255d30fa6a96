package rtsp

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// TestPushAACRefused: ffmpeg's default RTSP audio (AAC) is refused with 415
// and a reason naming the supported codecs, and nothing is published.
func TestPushAACRefused(t *testing.T) {
	needTool(t, "ffmpeg")
	h, sfu := newLoopHost()
	_, addr := startServer(t, h, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := ffmpegPublish(ctx, "rtsp://u:sk-good@"+addr+"/room1/teacher", "tcp", "aac", 2)
	cmd.Stderr = &stderr
	err := cmd.Run()
	out := stderr.String()
	t.Logf("ffmpeg: %v: %s", err, strings.TrimSpace(out))
	if err == nil || !strings.Contains(out, "415") || !strings.Contains(out, "AAC") ||
		!strings.Contains(out, SupportedCodecs) {
		t.Fatalf("want ffmpeg to fail with 415 naming AAC and %q; got %v: %s", SupportedCodecs, err, out)
	}
	select {
	case p := <-sfu.published:
		t.Fatalf("published %s", p.key)
	default:
	}
}

// TestFFmpegWrongPassword: wrong credentials are answered 401 (Digest and
// Basic), and the room's other publishers are unaffected.
func TestFFmpegWrongPassword(t *testing.T) {
	needTool(t, "ffmpeg", "ffprobe")
	h, _ := newLoopHost()
	_, addr := startServer(t, h, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := ffmpegPublish(ctx, "rtsp://u:wrong@"+addr+"/room1/teacher", "tcp", "libopus", 2)
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil || !strings.Contains(stderr.String(), "401") {
		t.Fatalf("publish with a wrong password: want 401, got %v: %s", err, stderr.String())
	}
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rtsp_transport", "tcp",
		"rtsp://u:wrong@"+addr+"/room1/teacher").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "401") {
		t.Fatalf("read with a wrong password: want 401, got %v: %s", err, out)
	}
}

// TestFFprobeUnknownPath: reading a participant that does not exist is 404.
func TestFFprobeUnknownPath(t *testing.T) {
	needTool(t, "ffprobe")
	h, _ := newLoopHost()
	_, addr := startServer(t, h, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rtsp_transport", "tcp",
		"rtsp://u:sk-good@"+addr+"/room1/nobody").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "404") {
		t.Fatalf("want 404, got %v: %s", err, out)
	}
}

// TestStatusCodes drives the server with gortsplib's client and checks the
// exact status and reason for each kind of bad request.
func TestStatusCodes(t *testing.T) {
	h, _ := newLoopHost()
	_, addr := startServer(t, h, func(c *ServerConfig) { c.DisableUDP = true })
	h264 := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	aac := &format.MPEG4Audio{PayloadTyp: 97, Config: &mpeg4audio.AudioSpecificConfig{Type: 2, SampleRate: 48000, ChannelCount: 2}, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3}
	vp8 := &format.VP8{PayloadTyp: 98}
	cases := []struct {
		name   string
		url    string
		record []format.Format // nil: read
		code   base.StatusCode
		reason string
	}{
		{"read unknown participant", "rtsp://u:sk-good@" + addr + "/room1/nobody", nil, 404, "not found"},
		{"read bad path", "rtsp://u:sk-good@" + addr + "/onlyroom", nil, 400, "not /<room>/<participant>"},
		{"read bad view", "rtsp://u:sk-good@" + addr + "/r/p/sideways", nil, 400, "unknown view"},
		{"read wrong password", "rtsp://u:nope@" + addr + "/room1/x", nil, 401, ""},
		{"read no password", "rtsp://" + addr + "/room1/x", nil, 401, ""},
		{"read locked room", "rtsp://u:sk-good@" + addr + "/locked/x", nil, 401, ""},
		{"publish AAC", "rtsp://u:sk-good@" + addr + "/room1/cam", []format.Format{h264, aac}, 415, "unsupported codec AAC"},
		{"publish VP8", "rtsp://u:sk-good@" + addr + "/room1/cam", []format.Format{vp8}, 415, "unsupported codec VP8"},
		{"publish to view", "rtsp://u:sk-good@" + addr + "/room1/cam/camera", []format.Format{h264}, 400, "not to a view"},
		{"publish wrong password", "rtsp://u:bad@" + addr + "/room1/cam", []format.Format{h264}, 401, ""},
		{"publish bad chars", "rtsp://u:sk-good@" + addr + "/room1/c%20am", []format.Format{h264}, 400, "not allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, err := base.ParseURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host, ReadTimeout: 5 * time.Second}
			if err := c.Start2(); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tc.record == nil {
				_, _, err = c.Describe(u)
			} else {
				desc := &description.Session{}
				for _, f := range tc.record {
					typ := description.MediaTypeVideo
					if _, ok := f.(*format.MPEG4Audio); ok {
						typ = description.MediaTypeAudio
					}
					desc.Medias = append(desc.Medias, &description.Media{Type: typ, Formats: []format.Format{f}})
				}
				_, err = c.Announce(u, desc)
			}
			var bad liberrors.ErrClientBadStatusCode
			if !errors.As(err, &bad) {
				t.Fatalf("want status %d, got %v", tc.code, err)
			}
			if bad.Code != tc.code || !strings.Contains(bad.Message, tc.reason) {
				t.Fatalf("want %d %q, got %d %q", tc.code, tc.reason, bad.Code, bad.Message)
			}
		})
	}
}
