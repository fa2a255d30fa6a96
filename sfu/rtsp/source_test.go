package rtsp

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const gstPython = "/usr/bin/python3"

// startGstCamera runs gst-rtsp-server on port and waits until it listens.
func startGstCamera(t *testing.T, port int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(gstPython, "testdata/gst_rtsp_camera.py", fmt.Sprint(port))
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

func needGstRTSPServer(t *testing.T) {
	t.Helper()
	err := exec.Command(gstPython, "-c",
		"import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer").Run()
	if err != nil {
		t.Skipf("gst-rtsp-server for %s absent (apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 "+
			"gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad): %v", gstPython, err)
	}
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

func waitState(t *testing.T, m *Manager, id string, d time.Duration, ok func(SourceState) bool) SourceState {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		st, err := m.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("source state not reached in %v: %+v", d, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPullGstCameraReattaches: a gst-rtsp-server camera is pulled into a
// room; it is killed and restarted, and the source re-attaches by itself,
// keeping the same participant and a continuous RTP sequence.
func TestPullGstCameraReattaches(t *testing.T) {
	needGstRTSPServer(t)
	port := freeTCPPort(t)
	cam := startGstCamera(t, port)
	defer func() { _ = cam.Process.Kill(); _ = cam.Wait() }()

	h, sfu := newLoopHost()
	m := NewManager(h, testLogger(t))
	defer m.Close()
	st, err := m.Add(SourceConfig{URL: fmt.Sprintf("rtsp://admin:secret@127.0.0.1:%d/cam", port),
		Room: "room1", Identity: "doc-cam", StallTimeout: 2 * time.Second, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(st.URL, "secret") {
		t.Fatalf("password in state URL %q", st.URL)
	}
	pub := waitPublished(t, sfu, 15*time.Second)
	if len(pub.tracks) != 2 || pub.tracks[0].info.Codec.MimeType != "video/H264" || pub.tracks[1].info.Codec.MimeType != "audio/opus" {
		t.Fatalf("published %+v", pub.specs)
	}
	waitState(t, m, "room1/doc-cam", 10*time.Second, func(s SourceState) bool { return s.BitrateBps > 0 })
	time.Sleep(1500 * time.Millisecond)
	before := drain(pub.tracks[0].packets)
	aus, kf, withParams := decodeH264(t, before)
	if kf == 0 || withParams != kf {
		t.Fatalf("before restart: %d AUs, %d keyframes, %d with SPS+PPS", aus, kf, withParams)
	}

	// kill the camera: the source notices and retries
	_ = cam.Process.Kill()
	_ = cam.Wait()
	killed := time.Now()
	st = waitState(t, m, "room1/doc-cam", 10*time.Second, func(s SourceState) bool {
		return s.Status == StatusRetrying && s.LastErrorAt.After(killed)
	})
	detect := time.Since(killed)
	time.Sleep(2 * time.Second) // stay down through a few attempts

	restarted := time.Now()
	cam = startGstCamera(t, port)
	st = waitState(t, m, "room1/doc-cam", 20*time.Second, func(s SourceState) bool {
		return s.Status == StatusConnected && !s.ConnectedSince.Before(restarted)
	})
	reattach := time.Since(restarted)
	// first packet after the restart
	var first time.Duration
	for first == 0 {
		select {
		case <-pub.tracks[0].packets:
			first = time.Since(restarted)
		case <-time.After(10 * time.Second):
			t.Fatal("no packet after restart")
		}
	}
	t.Logf("drop detected in %v; after restart: connected in %v, first video packet in %v; reconnects=%d last_error=%q",
		detect.Round(time.Millisecond), reattach.Round(time.Millisecond), first.Round(time.Millisecond), st.Reconnects, st.LastError)
	if st.Reconnects == 0 || st.LastError == "" {
		t.Fatalf("state after restart: %+v", st)
	}
	select {
	case p := <-sfu.published:
		t.Fatalf("re-published as a new participant %s: want the same publication kept", p.key)
	default:
	}
	time.Sleep(1500 * time.Millisecond)
	after := drain(pub.tracks[0].packets)
	if len(after) == 0 || after[0].SSRC != before[0].SSRC {
		t.Fatalf("SSRC changed across reconnect")
	}
	if _, kf, wp := decodeH264(t, after); kf == 0 || wp != kf {
		t.Fatalf("after restart: %d keyframes, %d with SPS+PPS", kf, wp)
	}

	// stall: the camera process freezes with its TCP connection open
	if err := cam.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	st = waitState(t, m, "room1/doc-cam", 10*time.Second, func(s SourceState) bool {
		return s.Status == StatusRetrying && s.LastErrorAt.After(stopped)
	})
	stallDetect := time.Since(stopped)
	if err := cam.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	waitState(t, m, "room1/doc-cam", 20*time.Second, func(s SourceState) bool {
		return s.Status == StatusConnected && !s.ConnectedSince.Before(resumed)
	})
	t.Logf("stall (SIGSTOP) detected in %v (%q); reconnected %v after SIGCONT",
		stallDetect.Round(time.Millisecond), st.LastError, time.Since(resumed).Round(time.Millisecond))

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.Collector())
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 3 {
		t.Fatalf("metrics: %d families, %v", len(mfs), err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "classcast_rtsp_source_up" && mf.GetMetric()[0].GetGauge().GetValue() != 1 {
			t.Fatalf("source_up %v", mf)
		}
	}

	if err := m.Remove("room1/doc-cam"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pub.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("not unpublished on Remove")
	}
}

// TestPullBadCameras: cameras that refuse, stall or send garbage put the
// source in retrying with a clear error, without crashing or publishing,
// and without affecting another source.
func TestPullBadCameras(t *testing.T) {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	listen := func(serve func(net.Conn)) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ctx.Done()
			l.Close()
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer c.Close()
					go func() { <-ctx.Done(); c.Close() }()
					serve(c)
				}()
			}
		}()
		return l.Addr().String()
	}
	silent := listen(func(c net.Conn) { _, _ = c.Read(make([]byte, 4096)); <-ctx.Done() })
	garbage := listen(func(c net.Conn) {
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
			if _, err := c.Write([]byte("\x00\xffRTSP/9 banana\r\n\r\n\x24\x00\xff\xff")); err != nil {
				return
			}
		}
	})
	closed := freeTCPPort(t) // nothing listens

	h, sfu := newLoopHost()
	m := NewManager(h, testLogger(t))
	defer m.Close()
	for id, u := range map[string]string{
		"silent": "rtsp://" + silent + "/cam", "garbage": "rtsp://" + garbage + "/cam",
		"refused": fmt.Sprintf("rtsp://127.0.0.1:%d/cam", closed),
	} {
		if _, err := m.Add(SourceConfig{ID: id, URL: u, Room: "r", Identity: id,
			StallTimeout: 500 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"silent", "garbage", "refused"} {
		st := waitState(t, m, id, 10*time.Second, func(s SourceState) bool { return s.Reconnects >= 2 })
		t.Logf("%s: %s after %d reconnects: %s", id, st.Status, st.Reconnects, st.LastError)
		if st.LastError == "" || st.Status == StatusConnected {
			t.Fatalf("%s: %+v", id, st)
		}
	}
	if _, err := m.Add(SourceConfig{ID: "silent", URL: "rtsp://127.0.0.1:1/x", Room: "r", Identity: "x"}); err == nil {
		t.Fatal("duplicate ID accepted")
	}
	for _, bad := range []SourceConfig{
		{URL: "http://127.0.0.1/x", Room: "r", Identity: "i"},
		{URL: "rtsp://127.0.0.1/x", Room: "r/../x", Identity: "i"},
		{URL: "rtsp://127.0.0.1/x", Room: "r", Identity: "i", Transport: "sctp"},
	} {
		if _, err := m.Add(bad); err == nil {
			t.Fatalf("bad config accepted: %+v", bad)
		}
	}
	select {
	case p := <-sfu.published:
		t.Fatalf("bad camera published %s", p.key)
	default:
	}
	if err := m.Remove("nope"); err == nil {
		t.Fatal("removing an unknown source succeeded")
	}
}
