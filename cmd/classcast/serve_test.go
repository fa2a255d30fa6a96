package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"

	client "github.com/classcast/classcast/client-sdk/go"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func classcastBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "classcast-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "classcast")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return binPath
}

var readyLine = regexp.MustCompile(`classcast: listening http=(\S+) udp=(\d+) tcp=(-?\d+)`)

// startServe runs the real binary and returns its signaling URL.
func startServe(t *testing.T, args ...string) (*exec.Cmd, string, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(classcastBinary(t), append([]string{"serve", "--dev", "--port", "0", "--udp-port", "0", "--tcp-port", "0", "--rtsp-port", "0", "--data-dir", t.TempDir()}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	log := &strings.Builder{}
	var mu sync.Mutex
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case addr := <-ready:
		return cmd, "ws://" + addr, log
	case <-time.After(20 * time.Second):
		t.Fatalf("server not ready: %s", log.String())
	}
	return nil, "", nil
}

// TestGracefulShutdown: on SIGTERM the server tells every client it is
// shutting down, then exits 0.
func TestGracefulShutdown(t *testing.T) {
	cmd, url, log := startServe(t)
	jwt, _ := auth.NewAccessToken("devkey", "secret").SetIdentity("class-1").SetValidFor(time.Hour).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: "lesson"}).ToJWT()
	leaves := make(chan *livekit.LeaveRequest, 4)
	r, err := client.Connect(context.Background(), url, jwt, client.WithoutReconnect(),
		client.WithCallbacks(client.Callbacks{OnLeave: func(l *livekit.LeaveRequest) { leaves <- l }}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-leaves:
		if l.Reason != livekit.DisconnectReason_SERVER_SHUTDOWN {
			t.Errorf("leave reason %v, want SERVER_SHUTDOWN", l.Reason)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no leave before shutdown")
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, log.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
}

func TestTokenAndHelp(t *testing.T) {
	bin := classcastBinary(t)
	out, err := exec.Command(bin, "token", "--room", "r", "--identity", "i").Output()
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.ParseAPIToken(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	_, g, err := v.Verify("secret")
	if err != nil || g.Identity != "i" || g.Video.Room != "r" || !g.Video.RoomJoin {
		t.Fatalf("token grants %+v, %v", g, err)
	}
	help, _ := exec.Command(bin, "serve", "--help").CombinedOutput()
	for _, want := range []string{"-udp-port", "-tcp-port", "-dev", "-config", "CLASSCAST_KEYS", "default 7880"} {
		if !strings.Contains(string(help), want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
	if err := exec.Command(bin, "serve", "--keys", "short: x").Run(); err == nil {
		t.Error("a too-short secret was accepted")
	}
}
