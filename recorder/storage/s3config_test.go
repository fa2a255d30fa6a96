package storage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/classcast/classcast/recorder/storage"
)

func TestNewS3Config(t *testing.T) {
	ok := []storage.S3Config{
		{Bucket: "b"},
		{Bucket: "b", Endpoint: "minio.school.example:9000", AccessKey: "a", SecretKey: "s", PathStyle: true},
		{Bucket: "b", Endpoint: "http://127.0.0.1:9000", Region: "us-east-1", Prefix: "classcast"},
		{Bucket: "b", Endpoint: "https://s3.eu-west-1.amazonaws.com/"},
	}
	for _, c := range ok {
		s, err := storage.NewS3(c)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		s.Close()
	}
	bad := []storage.S3Config{
		{},
		{Bucket: "b", AccessKey: "a"},
		{Bucket: "b", SecretKey: "s"},
		{Bucket: "b", Endpoint: "ftp://host"},
		{Bucket: "b", Endpoint: "http://host/path"},
		{Bucket: "b", Endpoint: "http://"},
	}
	for _, c := range bad {
		if s, err := storage.NewS3(c); !errors.Is(err, storage.ErrS3Config) {
			if s != nil {
				s.Close()
			}
			t.Fatalf("%+v: err %v", c, err)
		}
	}
	s, err := storage.NewS3(storage.S3Config{Bucket: "b", Prefix: "classcast"})
	must(t, err)
	defer s.Close()
	if k := s.Key("REC_1/tracks/a.mp4"); k != "classcast/REC_1/tracks/a.mp4" {
		t.Fatalf("key %q", k)
	}
	for _, name := range []string{"../x", "/etc/passwd", "a/../../b", ""} {
		if _, err := s.Open(name); !errors.Is(err, storage.ErrBadPath) {
			t.Fatalf("%q: %v", name, err)
		}
	}
}

// TestTieredKeptLocalServesWhenBucketDown: with the local copy kept, an
// uploaded asset still plays while the bucket is unreachable, and once the
// local copy is gone the bucket's error is what the reader gets.
func TestTieredKeptLocalServesWhenBucketDown(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	srv := newS3Server(t)
	srv.start()
	root := t.TempDir()
	dir := filepath.Join(root, "REC_keep")
	must(t, os.MkdirAll(filepath.Join(dir, "tracks"), 0o755))
	data := make([]byte, 300<<10)
	_, _ = rand.Read(data)
	must(t, os.WriteFile(filepath.Join(dir, "tracks", "a.000.mp4"), data, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, storage.FinalMarker), []byte(`{"status":"complete"}`), 0o644))
	must(t, os.Symlink("/etc/passwd", filepath.Join(dir, "leak")))
	remote := srv.store(t, "")
	_, ch := newUploader(t, root, remote, true)
	if a := next(t, ch); a.err != nil {
		t.Fatal(a.err)
	}
	local, err := storage.NewLocal(root)
	must(t, err)
	defer local.Close()
	tiered := storage.NewTiered(local, remote, quietLog())
	if _, err := tiered.Open("REC_keep/leak"); err == nil {
		t.Fatal("symlink served")
	}
	if _, err := remote.Open("REC_keep/leak"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("symlink uploaded: %v", err)
	}
	read := func() []byte {
		t.Helper()
		o, err := tiered.Open("REC_keep/tracks/a.000.mp4")
		must(t, err)
		defer o.Close()
		b, err := io.ReadAll(o)
		must(t, err)
		return b
	}
	if !bytes.Equal(read(), data) {
		t.Fatal("differs from the bucket")
	}
	srv.stop()
	if !bytes.Equal(read(), data) {
		t.Fatal("differs from the local fallback")
	}
	must(t, os.Remove(filepath.Join(dir, "tracks", "a.000.mp4")))
	if _, err := tiered.Open("REC_keep/tracks/a.000.mp4"); err == nil || errors.Is(err, storage.ErrBadPath) {
		t.Fatalf("no copy anywhere, yet: %v", err)
	}
}

// BenchmarkS3Upload measures PUT throughput to versitygw on loopback (a
// 32 MiB file: multipart, MD5 per part, then a HEAD to verify its size).
func BenchmarkS3Upload(b *testing.B) {
	srv := newS3Server(b)
	srv.start()
	remote, err := storage.NewS3(srv.config(""))
	if err != nil {
		b.Fatal(err)
	}
	defer remote.Close()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(remote.EnsureBucket(context.Background()))
	f := filepath.Join(b.TempDir(), "part.mp4")
	data := make([]byte, 32<<20)
	_, _ = rand.Read(data)
	must(os.WriteFile(f, data, 0o644))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		_, _, err := remote.Put(context.Background(), "bench/part.mp4", f)
		must(err)
		n, err := remote.Stat(context.Background(), remote.Bucket(), "bench/part.mp4")
		must(err)
		if n != int64(len(data)) {
			b.Fatalf("size %d", n)
		}
	}
}
