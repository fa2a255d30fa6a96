package ingest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"go.uber.org/goleak"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/sfu/node"
	"github.com/classcast/classcast/sfu/rtsp"
)

const gstPython = "/usr/bin/python3"

func needGstRTSPServer(t *testing.T) {
	t.Helper()
	err := exec.Command(gstPython, "-c",
		"import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer").Run()
	if err != nil {
		t.Skipf("gst-rtsp-server for %s absent (scripts/install-test-deps.sh installs python3-gi "+
			"gir1.2-gst-rtsp-server-1.0): %v", gstPython, err)
	}
}

// startGstCamera runs the sfu/rtsp test camera (gst-rtsp-server, H.264 with
// SPS/PPS only in the SDP, plus Opus) at rtsp://admin:secret@127.0.0.1:port/cam.
func startGstCamera(t *testing.T, port int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(gstPython, "../rtsp/testdata/gst_rtsp_camera.py", fmt.Sprint(port))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("gst camera did not start")
	}
	return cmd
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func cameras(t *testing.T, n *node.Node, tok string) []rtsp.SourceState {
	t.Helper()
	res, body := httpDo(t, http.MethodGet, httpURL(n)+"/api/cameras", tok, "", "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/cameras: %d %s", res.StatusCode, body)
	}
	var out []rtsp.SourceState
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPullCameraReattaches: a camera from the configuration (gst-rtsp-server)
// is pulled into a room and a Go SDK subscriber receives its H.264; the
// camera is killed (the API shows "retrying" with the error, /metrics shows
// up=0) and restarted, and the source re-attaches by itself: the same
// participant, and the subscriber gets frames and a keyframe again.
func TestPullCameraReattaches(t *testing.T) {
	needGstRTSPServer(t)
	t.Cleanup(func() { goleak.VerifyNone(t) })
	port := freeTCPPort(t)
	cam := startGstCamera(t, port)
	defer func() { _ = cam.Process.Kill(); _ = cam.Wait() }()
	n := startNode(t, func(c *node.Config) {
		c.Ingest.Cameras = []rtsp.SourceConfig{{Room: "lesson", Identity: "doc-cam", Name: "Document camera",
			URL: fmt.Sprintf("rtsp://admin:secret@127.0.0.1:%d/cam", port), StallTimeout: 2 * time.Second, MaxBackoff: time.Second}}
	})
	admin := token(t, "", "admin", &auth.VideoGrant{IngressAdmin: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := connect(t, ctx, n, "lesson", "viewer", grant(false, true), client.WithAutoDrain())
	var video *client.RemoteTrack
	waitFor(t, 20*time.Second, "camera video at the subscriber", func() bool {
		video = trackOf(sub, "doc-cam", "video")
		return video != nil && video.Stats().Keyframes > 0
	})
	psid := sub.Participant("doc-cam").SID()
	if st := cameras(t, n, admin); len(st) != 1 || st[0].Status != rtsp.StatusConnected || strings.Contains(st[0].URL, "secret") {
		t.Fatalf("cameras: %+v", st)
	}
	waitFor(t, 5*time.Second, "bitrate in the API", func() bool { return cameras(t, n, admin)[0].BitrateBps > 0 })
	if _, body := httpDo(t, http.MethodGet, httpURL(n)+"/metrics", "", "", ""); !strings.Contains(body, `classcast_rtsp_source_up{room="lesson",source="lesson/doc-cam"} 1`) {
		t.Fatalf("metrics lack source_up 1")
	}

	_ = cam.Process.Kill()
	_ = cam.Wait()
	waitFor(t, 10*time.Second, "retrying state", func() bool {
		st := cameras(t, n, admin)[0]
		return st.Status == rtsp.StatusRetrying && st.LastError != ""
	})
	st := cameras(t, n, admin)[0]
	t.Logf("camera down: status=%s last_error=%q", st.Status, st.LastError)
	if _, body := httpDo(t, http.MethodGet, httpURL(n)+"/metrics", "", "", ""); !strings.Contains(body, `classcast_rtsp_source_up{room="lesson",source="lesson/doc-cam"} 0`) {
		t.Fatalf("metrics lack source_up 0")
	}
	time.Sleep(2 * time.Second)
	frames, keyframes := video.Stats().Frames, video.Stats().Keyframes

	restarted := time.Now()
	cam = startGstCamera(t, port)
	reattach := waitFor(t, 20*time.Second, "frames after the camera restart", func() bool {
		s := video.Stats()
		return s.Frames > frames+10 && s.Keyframes > keyframes
	})
	if p := sub.Participant("doc-cam"); p == nil || p.SID() != psid {
		t.Fatalf("participant changed across the restart: %+v (was %s)", p, psid)
	}
	t.Logf("pulled camera restarted: subscriber has frames and a keyframe again %v after the restart (gst start %v)",
		reattach.Round(time.Millisecond), time.Since(restarted).Round(time.Millisecond)-reattach.Round(time.Millisecond))
}
