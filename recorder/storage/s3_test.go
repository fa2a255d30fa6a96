package storage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/classcast/classcast/recorder"
	"github.com/classcast/classcast/recorder/catalog"
	"github.com/classcast/classcast/recorder/fmp4x"
	"github.com/classcast/classcast/recorder/internal/testmedia"
	"github.com/classcast/classcast/recorder/replay"
	"github.com/classcast/classcast/recorder/storage"
	"github.com/classcast/classcast/recorder/trackwriter"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// finalizedRecording makes a real finalized recording under root: x264
// output written by the recorder's track writer, a manifest and a timeline
// with a chapter, finalized by the recorder itself (Recover finalizes a
// recording a crash cut off: tracks, chapter clips, poster, catalog entry,
// final marker). It returns the catalog and a copy of every file.
func finalizedRecording(t *testing.T, root, id string) (*catalog.Catalog, map[string][]byte) {
	t.Helper()
	testmedia.RequireFFmpeg(t)
	dir := filepath.Join(root, id)
	must(t, os.MkdirAll(filepath.Join(dir, "tracks"), 0o755))
	epoch := time.Unix(1700000000, 0).UTC()
	now := epoch
	w, err := trackwriter.New(trackwriter.Config{Dir: filepath.Join(dir, "tracks"), Name: "TR_cam", Codec: fmp4x.CodecH264,
		Epoch: epoch, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	for _, p := range testmedia.H264Packets(t, "6") {
		_, _ = w.WriteRTP(&p.Header, p.Payload)
		time.Sleep(50 * time.Microsecond) // let the writer keep up
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	must(t, <-done)
	man := map[string]any{"id": id, "room": "lesson1", "epoch": epoch,
		"meta":   map[string]any{"title": "Fractions", "teacher": "Ada"},
		"tracks": []map[string]any{{"name": "TR_cam", "sid": "TR_cam", "kind": "video", "codec": "h264"}}}
	b, _ := json.Marshal(man)
	must(t, os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "timeline.jsonl"),
		[]byte(`{"t":0,"kind":"chapter","data":{"title":"Intro"}}`+"\n"+`{"t":3,"kind":"chapter","data":{"title":"Practice"}}`+"\n"), 0o644))

	cat, err := catalog.Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"))
	must(t, err)
	t.Cleanup(func() { cat.Close() })
	rec, err := recorder.New(recorder.Config{Root: root, Catalog: cat, Logger: quietLog()})
	must(t, err)
	ids, err := rec.Recover(context.Background())
	must(t, err)
	if len(ids) != 1 || ids[0] != id {
		t.Fatalf("recovered %v", ids)
	}
	a, err := cat.Get(context.Background(), id)
	must(t, err)
	if len(a.Tracks) != 1 || len(a.Chapters) != 2 || a.Poster == "" || len(a.Chapters[0].Clips) == 0 {
		t.Fatalf("finalized asset lacks parts: %+v", a)
	}
	return cat, snapshot(t, dir)
}

// snapshot reads every regular file under dir, by slash-separated name.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	}))
	return out
}

type attempt struct {
	dir string
	err error
}

func newUploader(t *testing.T, root string, remote *storage.S3, keepLocal bool) (*storage.Uploader, chan attempt) {
	t.Helper()
	ch := make(chan attempt, 64)
	u, err := storage.NewUploader(storage.UploaderConfig{Root: root, Remote: remote, KeepLocal: keepLocal,
		Interval: time.Hour, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		OnAttempt: func(dir string, err error) {
			select {
			case ch <- attempt{dir, err}:
			default:
			}
		},
		Logger: quietLog()})
	must(t, err)
	t.Cleanup(u.Close)
	return u, ch
}

// next waits for an upload attempt. The limit only keeps a broken run from
// hanging until the package timeout; it is not a speed requirement.
func next(t *testing.T, ch chan attempt) attempt {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(5 * time.Minute):
		t.Fatal("no upload attempt")
		return attempt{}
	}
}

func TestS3UploadAndReplay(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	srv := newS3Server(t)
	srv.start()
	root := filepath.Join(t.TempDir(), "recordings")
	cat, files := finalizedRecording(t, root, "REC_s3a")
	remote := srv.store(t, "classcast")
	u, ch := newUploader(t, root, remote, false)
	if a := next(t, ch); a.err != nil || a.dir != "REC_s3a" {
		t.Fatalf("upload: %+v", a)
	}
	st := u.Stats()
	t.Logf("uploaded %d files, %d bytes", len(files), st.Bytes)

	// The placement record says where each file is; the local media is gone,
	// the recorder's own metadata stays.
	var p storage.Placement
	b, err := os.ReadFile(filepath.Join(root, "REC_s3a", storage.PlacementFile))
	must(t, err)
	must(t, json.Unmarshal(b, &p))
	if p.Bucket != testBucket || p.Prefix != "classcast/REC_s3a/" || len(p.Objects) != len(files) {
		t.Fatalf("placement %+v for %d files", p, len(files))
	}
	left := snapshot(t, filepath.Join(root, "REC_s3a"))
	delete(left, storage.PlacementFile)
	if len(left) != 2 || left["manifest.json"] == nil || left[storage.FinalMarker] == nil {
		t.Fatalf("local files after upload: %v", keys(left))
	}

	// Every object in the bucket is byte-identical, read whole, by seeks
	// and by random ranges.
	rng := rand.New(rand.NewPCG(1, 2))
	for name, want := range files {
		o, err := remote.Open("REC_s3a/" + name)
		must(t, err)
		if o.Size() != int64(len(want)) {
			t.Fatalf("%s: size %d, want %d", name, o.Size(), len(want))
		}
		got, err := io.ReadAll(o)
		must(t, err)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: differs read whole", name)
		}
		for range 5 {
			off := rng.IntN(len(want))
			n := rng.IntN(len(want)-off) + 1
			buf := make([]byte, n)
			if _, err := o.ReadAt(buf, int64(off)); err != nil && !(errors.Is(err, io.EOF) && off+n == len(want)) {
				t.Fatalf("%s: ReadAt(%d, %d): %v", name, off, n, err)
			}
			if !bytes.Equal(buf, want[off:off+n]) {
				t.Fatalf("%s: ReadAt(%d, %d) differs", name, off, n)
			}
			_, err = o.Seek(int64(off), io.SeekStart)
			must(t, err)
			buf2 := make([]byte, n)
			_, err = io.ReadFull(o, buf2)
			must(t, err)
			if !bytes.Equal(buf2, want[off:off+n]) {
				t.Fatalf("%s: Seek(%d)+Read(%d) differs", name, off, n)
			}
		}
		must(t, o.Close())
	}

	// Replay serves the asset from the bucket through the tiered store.
	local, err := storage.NewLocal(root)
	must(t, err)
	t.Cleanup(func() { local.Close() })
	h := replay.New(replay.Config{Catalog: cat, Store: storage.NewTiered(local, remote, quietLog()),
		Auth: replay.AuthorizerFunc(func(*http.Request, replay.Action, string) error { return nil }), Logger: quietLog()})
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	t.Cleanup(hs.Client().CloseIdleConnections)

	code, body, _ := fetch(t, hs, "/api/assets", "")
	if code != 200 || !strings.Contains(body, "REC_s3a") {
		t.Fatalf("list: %d %s", code, body)
	}
	code, body, _ = fetch(t, hs, "/api/assets/REC_s3a", "")
	if code != 200 || !strings.Contains(body, "Practice") || !strings.Contains(body, `"timeline"`) {
		t.Fatalf("get: %d %s", code, body)
	}
	code, body, _ = fetch(t, hs, "/media/REC_s3a/hls/TR_cam.m3u8", "")
	if code != 200 || !strings.Contains(body, "#EXT-X-BYTERANGE") {
		t.Fatalf("hls: %d %s", code, body)
	}
	for name, want := range files {
		code, body, _ := fetch(t, hs, "/media/REC_s3a/files/"+name, "")
		if code != 200 || body != string(want) {
			t.Fatalf("%s: %d, %d bytes, want %d", name, code, len(body), len(want))
		}
		if len(want) < 100 {
			continue
		}
		lo, hi := len(want)/3, len(want)/3+len(want)/4
		code, body, hdr := fetch(t, hs, "/media/REC_s3a/files/"+name+"?download=1", fmt.Sprintf("bytes=%d-%d", lo, hi))
		if code != http.StatusPartialContent || body != string(want[lo:hi+1]) {
			t.Fatalf("%s range: %d %q", name, code, hdr.Get("Content-Range"))
		}
	}
}

func TestS3UploadRetriesUntilServerReturns(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	srv := newS3Server(t) // not started: the bucket is unreachable
	root := filepath.Join(t.TempDir(), "recordings")
	_, files := finalizedRecording(t, root, "REC_retry")
	remote := srv.store(t, "")
	_, ch := newUploader(t, root, remote, false)
	for i := range 3 {
		a := next(t, ch)
		if a.err == nil {
			t.Fatalf("attempt %d succeeded with no server", i)
		}
	}
	// Nothing was lost or marked while the server was away.
	now := snapshot(t, filepath.Join(root, "REC_retry"))
	if len(now) != len(files) {
		t.Fatalf("local files changed: %v", keys(now))
	}
	for name, want := range files {
		if !bytes.Equal(now[name], want) {
			t.Fatalf("%s changed locally", name)
		}
	}

	// The server returns (on the same port); a retry succeeds.
	srv.start()
	for {
		a := next(t, ch)
		if a.err == nil {
			break
		}
		t.Logf("attempt while the server came up: %v", a.err) // a retry that raced the start
	}
	for name, want := range files {
		o, err := remote.Open("REC_retry/" + name)
		must(t, err)
		got, err := io.ReadAll(o)
		o.Close()
		must(t, err)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s differs in the bucket", name)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "REC_retry", "tracks")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("local tracks still there after the upload: %v", err)
	}
}

func fetch(t *testing.T, hs *httptest.Server, path, rng string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, hs.URL+path, nil)
	must(t, err)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := hs.Client().Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, string(b), resp.Header
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
