package storage

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestLocalEscapes(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	must(t, os.MkdirAll(filepath.Join(root, "rec1"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "rec1", "a.mp4"), []byte("media"), 0o644))
	must(t, os.WriteFile(filepath.Join(base, "secret"), []byte("secret"), 0o644))
	must(t, os.Symlink(filepath.Join(base, "secret"), filepath.Join(root, "rec1", "abs-link")))
	must(t, os.Symlink("../../secret", filepath.Join(root, "rec1", "rel-link")))
	must(t, os.Symlink("a.mp4", filepath.Join(root, "rec1", "inside-link")))
	must(t, os.Symlink(base, filepath.Join(root, "dirlink")))
	s, err := NewLocal(root)
	must(t, err)
	defer s.Close()

	for _, ok := range []string{"rec1/a.mp4", "rec1/./a.mp4", "rec1/inside-link"} {
		o, err := s.Open(ok)
		if err != nil {
			t.Fatalf("%s: %v", ok, err)
		}
		b, _ := io.ReadAll(o)
		o.Close()
		if string(b) != "media" {
			t.Fatalf("%s: %q", ok, b)
		}
	}
	bad := []string{
		"../secret", "rec1/../../secret", "/etc/passwd", filepath.Join(base, "secret"),
		"rec1/abs-link", "rec1/rel-link", "dirlink/secret", "rec1/..", "..", "", ".",
		"rec1\\..\\..\\secret", "rec1/a.mp4\x00", "%2e%2e/secret", "rec1", "rec1/missing",
	}
	for _, name := range bad {
		o, err := s.Open(name)
		if err == nil {
			o.Close()
			t.Fatalf("%q: opened", name)
		}
		if !errors.Is(err, ErrBadPath) && !errors.Is(err, ErrNotExist) {
			t.Fatalf("%q: unexpected error %v", name, err)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
