package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/classcast/classcast/recorder/catalog"
	"github.com/classcast/classcast/recorder/fmp4x"
	"github.com/classcast/classcast/recorder/internal/testmedia"
	"github.com/classcast/classcast/recorder/storage"
	"github.com/classcast/classcast/recorder/trackwriter"
)

// fixture records 10 s of real x264 output (packetized by pion) with a
// track writer and catalogs it as asset "a1".
func fixture(t *testing.T) (root string, cat *catalog.Catalog) {
	t.Helper()
	testmedia.RequireFFmpeg(t)
	base := t.TempDir()
	root = filepath.Join(base, "root")
	dir := filepath.Join(root, "a1", "tracks")
	must(t, os.MkdirAll(dir, 0o755))
	epoch := time.Unix(1700000000, 0)
	now := epoch
	w, err := trackwriter.New(trackwriter.Config{Dir: dir, Name: "TR_cam", Codec: fmp4x.CodecH264, Epoch: epoch,
		Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	for _, p := range testmedia.H264Packets(t, "10") {
		_, _ = w.WriteRTP(&p.Header, p.Payload)
		time.Sleep(50 * time.Microsecond) // let the writer keep up; nothing is dropped
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	must(t, <-done)
	if w.Stats().Dropped != 0 {
		t.Fatalf("dropped %d", w.Stats().Dropped)
	}
	must(t, os.WriteFile(filepath.Join(root, "a1", "timeline.jsonl"), []byte(`{"t":1,"kind":"chapter","data":{"title":"x"}}`+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(base, "secret"), []byte("SECRET"), 0o644))
	must(t, os.Symlink(filepath.Join(base, "secret"), filepath.Join(root, "a1", "leak")))
	p := w.Parts()[0]
	cat, err = catalog.Open(context.Background(), filepath.Join(base, "c.db"))
	must(t, err)
	t.Cleanup(func() { cat.Close() })
	must(t, cat.Put(context.Background(), &catalog.Asset{ID: "a1", Title: "Fractions", Teacher: "Ada", Date: epoch,
		Status: catalog.StatusComplete, Dir: "a1", Timeline: "timeline.jsonl",
		Tracks: []catalog.Track{{Name: "TR_cam", Kind: "video", Codec: "h264", Files: []string{"tracks/" + p.File},
			Start: float64(p.Start) / 90000, End: float64(p.End) / 90000}}}))
	return root, cat
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func serve(t *testing.T, root string, cat *catalog.Catalog, auth Authorizer) string {
	st, err := storage.NewLocal(root)
	must(t, err)
	t.Cleanup(func() { st.Close() })
	mux := http.NewServeMux()
	h := New(Config{Catalog: cat, Store: st, Auth: auth, Logger: slog.New(slog.DiscardHandler)})
	mux.Handle("/api/assets", h)
	mux.Handle("/api/assets/", h)
	mux.Handle("/media/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

var allowAll = AuthorizerFunc(func(*http.Request, Action, string) error { return nil })

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestReplay(t *testing.T) {
	root, cat := fixture(t)
	base := serve(t, root, cat, allowAll)

	code, body, _ := get(t, base+"/api/assets?teacher=ada&q=fract")
	if code != 200 || !strings.Contains(body, `"id":"a1"`) {
		t.Fatalf("list: %d %s", code, body)
	}
	code, body, _ = get(t, base+"/api/assets?teacher=nobody")
	if code != 200 || !strings.Contains(body, `"assets":[]`) {
		t.Fatalf("empty list: %d %s", code, body)
	}
	code, body, _ = get(t, base+"/api/assets/a1")
	if code != 200 || !strings.Contains(body, `"timeline":[{"t":1`) {
		t.Fatalf("get: %d %s", code, body)
	}
	if code, _, _ = get(t, base+"/api/assets/nope"); code != 404 {
		t.Fatalf("missing asset: %d", code)
	}
	code, body, _ = get(t, base+"/media/a1/master.m3u8")
	if code != 200 || !strings.Contains(body, `CODECS="avc1.42c01e"`) && !strings.Contains(body, "avc1.") {
		t.Fatalf("master: %d %s", code, body)
	}
	code, body, _ = get(t, base+"/media/a1/hls/TR_cam.m3u8")
	if code != 200 || !strings.Contains(body, "#EXT-X-BYTERANGE") || !strings.Contains(body, "#EXT-X-ENDLIST") {
		t.Fatalf("media: %d %s", code, body)
	}
	t.Logf("media playlist:\n%s", body[:min(len(body), 400)])

	// a real HLS client plays it end to end
	testmedia.Decode(t, base+"/media/a1/master.m3u8")
	p := testmedia.FFprobe(t, base+"/media/a1/master.m3u8")
	if d := testmedia.Seconds(p.Format.Duration); math.Abs(d-10) > 0.2 {
		t.Errorf("HLS duration %.3f, want 10", d)
	}

	// download and ranges
	req, _ := http.NewRequest("GET", base+"/media/a1/files/tracks/TR_cam.000.mp4?download=1", nil)
	req.Header.Set("Range", "bytes=0-7")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || string(b[4:8]) != "ftyp" || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d %q %v", resp.StatusCode, b, resp.Header)
	}
}

func TestReplayPathEscapes(t *testing.T) {
	root, cat := fixture(t)
	base := serve(t, root, cat, allowAll)
	u, _ := http.NewRequest("GET", base, nil)
	paths := []string{
		"/media/a1/files/../../secret",
		"/media/a1/files/tracks/../../../secret",
		"/media/a1/files/%2e%2e/%2e%2e/secret",
		"/media/a1/files/..%2f..%2fsecret",
		"/media/a1/files/%252e%252e/secret",
		"/media/a1/files//etc/passwd",
		"/media/a1/files/%2fetc%2fpasswd",
		"/media/a1/files/leak",
		"/media/a1/files/..%5c..%5csecret",
		"/media/..%2f..%2fsecret/files/x",
		"/media/a1/files/tracks/TR_cam.000.mp4%00.jpg",
		"/media/a1/hls/..%2f..%2fsecret",
	}
	for _, p := range paths {
		// raw request line: no client-side cleaning
		conn, err := net.Dial("tcp", u.URL.Host)
		must(t, err)
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", p)
		b, _ := io.ReadAll(conn)
		conn.Close()
		resp := string(b)
		status := strings.SplitN(resp, "\r\n", 2)[0]
		if strings.Contains(resp, "SECRET") || strings.Contains(resp, "root:") || strings.Contains(status, " 200 ") {
			t.Errorf("%s: escaped: %s", p, status)
		}
		t.Logf("%-50s → %s", p, status)
	}
}

func TestReplayAuthorizer(t *testing.T) {
	root, cat := fixture(t)
	var seen []string
	auth := AuthorizerFunc(func(r *http.Request, a Action, id string) error {
		seen = append(seen, string(a)+":"+id)
		switch r.Header.Get("Authorization") {
		case "":
			return ErrUnauthorized
		case "Bearer viewer":
			if a == ActionDownload {
				return ErrForbidden
			}
			return nil
		}
		return errors.New("bad token")
	})
	base := serve(t, root, cat, auth)
	do := func(path, token string) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	cases := []struct {
		path, token string
		want        int
	}{
		{"/api/assets", "", 401},
		{"/api/assets", "viewer", 200},
		{"/api/assets/a1", "", 401},
		{"/api/assets/a1", "other", 403},
		{"/media/a1/master.m3u8", "viewer", 200},
		{"/media/a1/files/tracks/TR_cam.000.mp4", "viewer", 200},
		{"/media/a1/files/tracks/TR_cam.000.mp4?download=1", "viewer", 403},
		{"/media/a1/files/tracks/TR_cam.000.mp4", "", 401},
	}
	for _, c := range cases {
		if got := do(c.path, c.token); got != c.want {
			t.Errorf("%s (%q): %d, want %d", c.path, c.token, got, c.want)
		}
	}
	t.Logf("authorizer saw %v", seen)
}
