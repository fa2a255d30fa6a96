package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/classcast/classcast/recorder/catalog"
	"github.com/classcast/classcast/recorder/fmp4x"
	"github.com/classcast/classcast/recorder/internal/testmedia"
	"github.com/classcast/classcast/recorder/trackwriter"
)

const vp8LessonSeconds = 6

// vp8Fixture records what a browser publishes by default — VP8 camera and
// Opus microphone, real libvpx/libopus output over RTP — with two track
// writers and catalogs it as asset "v1".
func vp8Fixture(t *testing.T) (root string, cat *catalog.Catalog) {
	t.Helper()
	testmedia.RequireFFmpeg(t)
	base := t.TempDir()
	root = filepath.Join(base, "root")
	dir := filepath.Join(root, "v1", "tracks")
	must(t, os.MkdirAll(dir, 0o755))
	epoch := time.Now()
	mk := func(name string, codec fmp4x.Codec) *trackwriter.Writer {
		w, err := trackwriter.New(trackwriter.Config{Dir: dir, Name: name, Codec: codec, Epoch: epoch,
			Logger: slog.New(slog.DiscardHandler)})
		must(t, err)
		return w
	}
	video, audio := mk("TR_cam", fmp4x.CodecVP8), mk("TR_mic", fmp4x.CodecOpus)
	vp, ap := testmedia.ListenPort(t), testmedia.ListenPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	testmedia.Publish(ctx, t, vp8LessonSeconds*time.Second, "640x360", "vp8", vp, "opus", ap)
	runCtx, stop := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	var writers, pumps sync.WaitGroup
	for _, w := range []*trackwriter.Writer{video, audio} {
		writers.Add(1)
		go func() { defer writers.Done(); errs <- w.Run(runCtx) }()
	}
	for _, p := range []struct {
		port *testmedia.Port
		w    *trackwriter.Writer
	}{{vp, video}, {ap, audio}} {
		pumps.Add(1)
		go func() { defer pumps.Done(); testmedia.Pump(ctx, p.port, p.w, 3*time.Second) }()
	}
	pumps.Wait()
	stop()
	writers.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	track := func(w *trackwriter.Writer, name, kind, codec string) catalog.Track {
		parts := w.Parts()
		if len(parts) == 0 {
			t.Fatalf("%s: nothing recorded", name)
		}
		tr := catalog.Track{Name: name, Kind: kind, Codec: codec, Width: parts[0].Width, Height: parts[0].Height,
			Start: float64(parts[0].Start) / float64(parts[0].TimeScale)}
		for _, p := range parts {
			tr.Files = append(tr.Files, "tracks/"+p.File)
			tr.End = float64(p.End) / float64(p.TimeScale)
		}
		return tr
	}
	cat, err := catalog.Open(context.Background(), filepath.Join(base, "c.db"))
	must(t, err)
	t.Cleanup(func() { cat.Close() })
	must(t, cat.Put(context.Background(), &catalog.Asset{ID: "v1", Title: "VP8 lesson", Date: epoch,
		Status: catalog.StatusComplete, Dir: "v1",
		Tracks: []catalog.Track{track(video, "TR_cam", "video", "vp8"), track(audio, "TR_mic", "audio", "opus")}}))
	return root, cat
}

func getRange(t *testing.T, url, rng string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	must(t, err)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, b
}

// TestPlayWebM checks the WebM remux of a VP8 lesson with ffprobe and a
// full ffmpeg decode, its byte ranges (how <video> seeks), and the VP codec
// string of the HLS variant.
func TestPlayWebM(t *testing.T) {
	root, cat := vp8Fixture(t)
	base := serve(t, root, cat, allowAll)
	url := base + "/media/v1/play.webm"

	code, whole := getRange(t, url, "")
	if code != 200 || !bytes.HasPrefix(whole, []byte{0x1A, 0x45, 0xDF, 0xA3}) {
		t.Fatalf("play.webm: %d, %d bytes", code, len(whole))
	}
	file := filepath.Join(t.TempDir(), "lesson.webm")
	must(t, os.WriteFile(file, whole, 0o644))
	p := testmedia.FFprobe(t, file)
	t.Logf("webm %d bytes: %+v format %+v", len(whole), p.Streams, p.Format)
	if len(p.Streams) != 2 || p.Streams[0].CodecName != "vp8" || p.Streams[0].Width != 640 || p.Streams[1].CodecName != "opus" {
		t.Fatalf("streams: %+v", p.Streams)
	}
	for _, s := range p.Streams {
		frames := testmedia.Seconds(s.NbFrames)
		want := map[string]float64{"vp8": 25, "opus": 50}[s.CodecName] * vp8LessonSeconds
		if math.Abs(frames-want) > 0.1*want {
			t.Errorf("%s: %v frames, want %v ±10%%", s.CodecName, frames, want)
		}
	}
	if d := testmedia.Seconds(p.Format.Duration) - testmedia.Seconds(p.Format.StartTime); math.Abs(d-vp8LessonSeconds) > 0.3 {
		t.Errorf("duration %.3f, want %d", d, vp8LessonSeconds)
	}
	testmedia.Decode(t, file)
	testmedia.Decode(t, url) // ffmpeg reading over HTTP, as a player does

	// Ranges anywhere, including across cluster and block boundaries, give
	// the same bytes as the whole file.
	for _, r := range [][2]int{{0, 99}, {100, 4095}, {len(whole) / 3, len(whole)/3 + 70000}, {len(whole) - 10, len(whole) - 1}} {
		code, part := getRange(t, url, fmt.Sprintf("bytes=%d-%d", r[0], r[1]))
		if code != http.StatusPartialContent || !bytes.Equal(part, whole[r[0]:r[1]+1]) {
			t.Fatalf("range %v: %d, %d bytes, equal=%v", r, code, len(part), bytes.Equal(part, whole[r[0]:min(r[1]+1, len(whole))]))
		}
	}

	// A 404 for an asset without a WebM-able track is covered by the H.264
	// fixture's absence here; the HLS variant names the VP8 entry properly.
	code, body, _ := get(t, base+"/media/v1/master.m3u8")
	if code != 200 || !strings.Contains(body, `CODECS="vp08.00.`) || !strings.Contains(body, ",opus") {
		t.Fatalf("master: %d %s", code, body)
	}
}

// chromiumResult is what testdata/chromium-play.mjs prints.
type chromiumResult struct {
	Support map[string]struct {
		MSE     bool   `json:"mse"`
		CanPlay string `json:"canPlay"`
	} `json:"support"`
	Played, Seeked *playerState
	SeekedAt       float64 `json:"seekedAt"`
	Failure        string  `json:"failure"`
}

type playerState struct {
	T          float64 `json:"t"`
	W          int     `json:"w"`
	Duration   float64 `json:"duration"`
	Error      *string `json:"error"`
	Frames     int     `json:"frames"`
	AudioBytes int     `json:"audioBytes"`
	Seekable   float64 `json:"seekable"`
}

// requireChromium skips unless Debian's Chromium, node and tests/browser's
// npm modules (playwright-core) are present; make test installs all three.
func requireChromium(t *testing.T) string {
	t.Helper()
	chromium := os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("%s not found (scripts/install-test-deps.sh installs it)", chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	if _, err := os.Stat("../../tests/browser/node_modules/playwright-core"); err != nil {
		t.Skip("tests/browser/node_modules missing (scripts/npm-ci.sh installs it)")
	}
	return node
}

// TestWebMPlaysInChromium plays a recorded VP8+Opus lesson in real
// Chromium from play.webm: video frames decode, audio decodes, currentTime
// advances, and a seek (a Range request) plays on. It also records why the
// WebM route exists: Chromium refuses VP8 in MP4 outright.
func TestWebMPlaysInChromium(t *testing.T) {
	node := requireChromium(t)
	root, cat := vp8Fixture(t)
	base := serve(t, root, cat, allowAll)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/chromium-play.mjs", base+"/media/v1/play.webm")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium-play.mjs: %v\n%s", err, stderr.String())
	}
	var res chromiumResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("chromium-play.mjs output %q: %v", out, err)
	}
	t.Logf("Chromium: %s", out)
	if res.Failure != "" {
		t.Fatalf("playback failed: %s\n%s", res.Failure, stderr.String())
	}
	if vp8mp4 := res.Support[`video/mp4; codecs="vp08.00.10.08"`]; vp8mp4.MSE || vp8mp4.CanPlay != "" {
		t.Logf("note: this Chromium accepts VP8 in MP4 (%+v); HLS could carry VP8 here", vp8mp4)
	}
	if !res.Support[`video/webm; codecs="vp8, opus"`].MSE {
		t.Errorf("Chromium refuses WebM VP8+Opus: %+v", res.Support)
	}
	p := res.Played
	if p.Error != nil || p.W != 640 || p.T <= 2 || p.Frames < 25 || p.AudioBytes == 0 {
		t.Errorf("playing: %+v (error %v)", p, p.Error)
	}
	if math.Abs(p.Duration-vp8LessonSeconds) > 0.5 || p.Seekable < vp8LessonSeconds-0.5 {
		t.Errorf("duration %.3f seekable to %.3f, want about %d", p.Duration, p.Seekable, vp8LessonSeconds)
	}
	if s := res.Seeked; s.Error != nil || res.SeekedAt > 1.5 {
		t.Errorf("after seeking: %+v seeked at %.3f", s, res.SeekedAt)
	}
}
