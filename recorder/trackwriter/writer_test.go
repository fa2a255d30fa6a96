package trackwriter

import (
	"context"
	"log/slog"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/classcast/classcast/recorder/fmp4x"
	"github.com/classcast/classcast/recorder/internal/testmedia"
)

// recordPair records one video and one audio track published by ffmpeg
// for d and returns the part files.
func recordPair(t *testing.T, d time.Duration, vcodec, acodec string) (video, audio *Writer) {
	t.Helper()
	dir := t.TempDir()
	epoch := time.Now()
	vp, ap := testmedia.ListenPort(t), testmedia.ListenPort(t)
	mk := func(name, codec string) *Writer {
		w, err := New(Config{Dir: dir, Name: name, Codec: fmp4x.Codec(codec), Epoch: epoch,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	video, audio = mk("TR_video", vcodec), mk("TR_audio", acodec)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	testmedia.Publish(ctx, t, d, "640x360", vcodec, vp, acodec, ap)
	var wg sync.WaitGroup
	runCtx, stop := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	for _, w := range []*Writer{video, audio} {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- w.Run(runCtx) }()
	}
	var pumps sync.WaitGroup
	for _, p := range []struct {
		port *testmedia.Port
		w    *Writer
	}{{vp, video}, {ap, audio}} {
		pumps.Add(1)
		go func() {
			defer pumps.Done()
			n := testmedia.Pump(ctx, p.port, p.w, 3*time.Second)
			t.Logf("pumped %d", n)
		}()
	}
	pumps.Wait()
	stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []*Writer{video, audio} {
		for i := range w.Parts() {
			w.parts[i].File = filepath.Join(dir, w.parts[i].File)
		}
	}
	return video, audio
}

func TestRecordCodecs(t *testing.T) {
	testmedia.RequireFFmpeg(t)
	cases := []struct{ video, audio, vname, aname string }{
		{"h264", "opus", "h264", "opus"},
		{"vp8", "pcmu", "vp8", "pcm_mulaw"},
		{"vp9", "pcma", "vp9", "pcm_alaw"},
	}
	const d = 6 * time.Second
	for _, c := range cases {
		t.Run(c.video+"+"+c.audio, func(t *testing.T) {
			v, a := recordPair(t, d, c.video, c.audio)
			for _, w := range []*Writer{v, a} {
				st := w.Stats()
				t.Logf("%s: %+v parts=%d", w.cfg.Name, st, len(w.Parts()))
				if len(w.Parts()) != 1 {
					t.Fatalf("%s: %d parts", w.cfg.Name, len(w.Parts()))
				}
			}
			vf, af := v.Parts()[0].File, a.Parts()[0].File
			vpr, apr := testmedia.FFprobe(t, vf), testmedia.FFprobe(t, af)
			if len(vpr.Streams) != 1 || vpr.Streams[0].CodecName != c.vname || vpr.Streams[0].Width != 640 {
				t.Fatalf("video streams: %+v", vpr.Streams)
			}
			if len(apr.Streams) != 1 || apr.Streams[0].CodecName != c.aname {
				t.Fatalf("audio streams: %+v", apr.Streams)
			}
			// a fragmented MP4's format duration is its end time on the
			// recording timeline; the media duration is end − start.
			vs, as := testmedia.Seconds(vpr.Streams[0].StartTime), testmedia.Seconds(apr.Streams[0].StartTime)
			vd, ad := testmedia.Seconds(vpr.Format.Duration)-vs, testmedia.Seconds(apr.Format.Duration)-as
			t.Logf("video %s: duration %.3f start %s frames %s; audio %s: duration %.3f start %s",
				c.video, vd, vpr.Streams[0].StartTime, vpr.Streams[0].NbFrames, c.audio, ad, apr.Streams[0].StartTime)
			for _, got := range []float64{vd, ad} {
				if math.Abs(got-d.Seconds()) > 0.02*d.Seconds() {
					t.Errorf("duration %.3f, want %.1f ±2%%", got, d.Seconds())
				}
			}
			if math.Abs(vs-as) > 0.1 {
				t.Errorf("start offsets video %.3f audio %.3f differ by more than 100 ms", vs, as)
			}
			testmedia.Decode(t, vf)
			testmedia.Decode(t, af)
		})
	}
}
