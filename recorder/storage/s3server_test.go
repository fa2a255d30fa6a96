package storage_test

import (
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/classcast/classcast/recorder/storage"
)

// s3Server is a real S3-compatible server (versitygw, posix backend over a
// temporary directory) on a loopback port. scripts/install-test-deps.sh
// installs it; without it the S3 tests skip.
type s3Server struct {
	t    testing.TB
	bin  string
	dir  string
	addr string
	log  string

	proc   *exec.Cmd     // running server, nil when stopped
	exited chan struct{} // closed when proc has exited and been reaped
}

const (
	testAccessKey = "classcast-test"
	testSecretKey = "classcast-test-secret"
	testBucket    = "lessons"
)

func versitygwPath() string {
	if p := os.Getenv("CLASSCAST_VERSITYGW"); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	p := filepath.Join(build.Default.GOPATH, "bin", "versitygw")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// newS3Server picks a free loopback port; the server is not started.
func newS3Server(t testing.TB) *s3Server {
	t.Helper()
	bin := versitygwPath()
	if bin == "" {
		t.Skip("versitygw not installed (scripts/install-test-deps.sh installs it into $(go env GOPATH)/bin): no real S3 server to test against")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := t.TempDir()
	s := &s3Server{t: t, bin: bin, dir: filepath.Join(base, "data"), addr: addr, log: filepath.Join(base, "versitygw.log")}
	if err := os.Mkdir(s.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s
}

// start runs the server (again, on the same port and data) and waits until
// it answers HTTP.
func (s *s3Server) start() {
	s.t.Helper()
	out, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(s.bin, "--access", testAccessKey, "--secret", testSecretKey,
		"--port", s.addr, "--quiet", "posix", s.dir)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	exited := make(chan struct{})
	s.proc, s.exited = cmd, exited
	go func() {
		_, _ = cmd.Process.Wait()
		close(exited)
	}()
	cl := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	// A safety net for a server that never comes up, not a speed check.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-exited:
			b, _ := os.ReadFile(s.log)
			s.t.Fatalf("versitygw exited at start: %s", b)
		default:
		}
		resp, err := cl.Get("http://" + s.addr + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("versitygw did not answer on %s: %v", s.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server (a crash, not a drain) and waits for it to exit.
func (s *s3Server) stop() {
	if s.proc == nil {
		return
	}
	_ = s.proc.Process.Kill()
	<-s.exited
	s.proc = nil
}

func (s *s3Server) config(prefix string) storage.S3Config {
	return storage.S3Config{Endpoint: "http://" + s.addr, Bucket: testBucket, Region: "us-east-1",
		AccessKey: testAccessKey, SecretKey: testSecretKey, PathStyle: true, Prefix: prefix, MaxRetries: 1}
}

func (s *s3Server) store(t *testing.T, prefix string) *storage.S3 {
	t.Helper()
	st, err := storage.NewS3(s.config(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
