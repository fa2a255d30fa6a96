package recorder

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/classcast/classcast/recorder/catalog"
	"github.com/classcast/classcast/recorder/internal/testmedia"
)

// TestRecordLesson records 22 s of H.264 + Opus from a real encoder through
// the whole pipeline and checks the asset, its files, clips and catalog.
func TestRecordLesson(t *testing.T) {
	testmedia.RequireFFmpeg(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(), goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
	const lesson = 22 * time.Second
	root := t.TempDir()
	r, cat := newTestRecorder(t, root)
	cam := newUDPTrack(t, "TR_cam", webrtc.MimeTypeH264, webrtc.RTPCodecTypeVideo)
	mic := newUDPTrack(t, "TR_mic", webrtc.MimeTypeOpus, webrtc.RTPCodecTypeAudio)

	ctx := context.Background()
	rec, err := r.Start(ctx, StartRequest{ID: "lesson1", Room: "room-a", Tracks: nil,
		Meta: Meta{Course: "Math 101", Title: "Fractions", Teacher: "Ada", Classroom: "R1", Tags: []string{"algebra"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []*udpTrack{cam, mic} {
		if err := rec.AddTrack(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	pubCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	ff := testmedia.Publish(pubCtx, t, lesson, "640x360", "h264", cam.port, "opus", mic.port)
	start := time.Now()
	must(t, rec.AddEvent("join", start, map[string]string{"identity": "student1"}))
	time.Sleep(7 * time.Second)
	must(t, rec.AddChapter(time.Now(), "Warm-up"))
	must(t, rec.AddEvent("question", time.Now(), map[string]string{"from": "student1", "text": "why?"}))
	time.Sleep(7 * time.Second)
	must(t, rec.AddChapter(time.Now(), "Long division"))
	_ = ff.Wait()
	<-cam.pumped
	<-mic.pumped
	a, err := rec.Stop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != catalog.StatusComplete || len(a.Tracks) != 2 {
		t.Fatalf("asset: %+v", a)
	}
	if cam.keyframes.Load() == 0 {
		t.Error("no keyframe requested at start")
	}
	t.Logf("asset duration %v, chapters %+v", a.Duration, a.Chapters)

	dir := filepath.Join(root, a.Dir)
	var starts []float64
	for _, tr := range a.Tracks {
		if len(tr.Files) != 1 {
			t.Fatalf("%s: files %v", tr.Name, tr.Files)
		}
		f := filepath.Join(dir, tr.Files[0])
		p := testmedia.FFprobe(t, f)
		s := testmedia.Seconds(p.Streams[0].StartTime)
		d := testmedia.Seconds(p.Format.Duration) - s
		t.Logf("%s %s: start %.3f s, duration %.3f s, frames %s", tr.Name, p.Streams[0].CodecName, s, d, p.Streams[0].NbFrames)
		if math.Abs(d-lesson.Seconds()) > 0.02*lesson.Seconds() {
			t.Errorf("%s: duration %.3f, want %v ±2%%", tr.Name, d, lesson)
		}
		starts = append(starts, s)
		testmedia.Decode(t, f)
	}
	if math.Abs(starts[0]-starts[1]) > 0.1 {
		t.Errorf("start offsets %v differ by more than 100 ms", starts)
	}

	// chapters → clips cut at keyframes, tracks aligned
	if len(a.Chapters) != 2 || a.Chapters[0].Title != "Warm-up" {
		t.Fatalf("chapters: %+v", a.Chapters)
	}
	for _, ch := range a.Chapters {
		if len(ch.Clips) != 2 {
			t.Fatalf("chapter %q clips %v", ch.Title, ch.Clips)
		}
		var cs []float64
		for _, c := range ch.Clips {
			f := filepath.Join(dir, c)
			p := testmedia.FFprobe(t, f)
			s := testmedia.Seconds(p.Streams[0].StartTime)
			d := testmedia.Seconds(p.Format.Duration) - s
			want := ch.End - ch.Start
			t.Logf("clip %s: start %.3f duration %.3f (chapter %.3f)", c, s, d, want)
			// starts at the keyframe at or before the chapter: up to one GOP (2 s) longer
			if d < want-0.1 || d > want+2.1 {
				t.Errorf("clip %s: duration %.3f, chapter %.3f", c, d, want)
			}
			cs = append(cs, s)
			testmedia.Decode(t, f)
		}
		if math.Abs(cs[0]-cs[1]) > 0.1 {
			t.Errorf("clip starts %v differ by more than 100 ms", cs)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, a.Poster)); err != nil || st.Size() == 0 || a.Poster == "" {
		t.Errorf("poster: %q %v", a.Poster, err)
	}
	tl, err := readTimeline(filepath.Join(dir, timelineFile))
	must(t, err)
	var kinds []string
	for _, ev := range tl {
		kinds = append(kinds, ev.Kind)
	}
	if got := strings.Join(kinds, ","); !strings.Contains(got, "recording_started") ||
		!strings.Contains(got, "join") || !strings.Contains(got, "question") || !strings.HasSuffix(got, "recording_stopped") {
		t.Errorf("timeline kinds: %s", got)
	}
	found, err := cat.Search(ctx, catalog.Query{Teacher: "ada", Text: "division"})
	if err != nil || len(found) != 1 || found[0].ID != "lesson1" {
		t.Fatalf("catalog search: %v %v", found, err)
	}
	tot := r.Metrics().Totals()
	t.Logf("totals: %+v", tot)
	if tot.Dropped != 0 || tot.Fragments == 0 {
		t.Errorf("totals %+v", tot)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
