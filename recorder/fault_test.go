package recorder

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/recorder/catalog"
	"github.com/classcast/classcast/recorder/fmp4x"
	"github.com/classcast/classcast/recorder/internal/testmedia"
)

const childEnv = "CLASSCAST_RECORDER_CRASH_CHILD"

// TestCrashRecover runs a recording in a child process (this test binary
// re-executed), kill -9s it mid-recording, then Recover finalizes it.
func TestCrashRecover(t *testing.T) {
	testmedia.RequireFFmpeg(t)
	if root := os.Getenv(childEnv); root != "" {
		crashChild(t, root)
		return
	}
	root := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashRecover$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+root)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	must(t, cmd.Start())
	video := filepath.Join(root, "crashed", tracksDir, "TR_cam.000.mp4")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ix := scanFile(video); ix != nil && len(ix.Fragments) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("child wrote no fragments")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(700 * time.Millisecond) // land somewhere inside a fragment
	must(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	if _, err := os.Stat(filepath.Join(root, "crashed", finalFile)); err == nil {
		t.Fatal("child finalized before being killed")
	}
	// also tear the last fragment on purpose, as a kill during write would
	f, err := os.OpenFile(video, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, _ = f.Write([]byte{0, 0, 0x40, 0, 'm', 'o', 'o', 'f', 1, 2, 3})
	f.Close()

	r, cat := newTestRecorder(t, root)
	ids, err := r.Recover(context.Background())
	must(t, err)
	if len(ids) != 1 || ids[0] != "crashed" {
		t.Fatalf("recovered %v", ids)
	}
	a, err := cat.Get(context.Background(), "crashed")
	must(t, err)
	if a.Status != catalog.StatusRecovered || len(a.Tracks) != 2 {
		t.Fatalf("asset %+v", a)
	}
	for _, tr := range a.Tracks {
		file := filepath.Join(root, "crashed", tr.Files[0])
		ix := scanFile(file)
		if ix == nil || ix.Torn {
			t.Fatalf("%s still torn", file)
		}
		p := testmedia.FFprobe(t, file)
		end := testmedia.Seconds(p.Format.Duration)
		want := float64(ix.End()) / float64(ix.TimeScale)
		t.Logf("%s: %d fragments, plays to %.3f s (last fragment ends %.3f s)", tr.Name, len(ix.Fragments), end, want)
		if math.Abs(end-want) > 0.05 {
			t.Errorf("%s plays to %.3f, last fragment ends %.3f", tr.Name, end, want)
		}
		testmedia.Decode(t, file)
	}
	if again, _ := r.Recover(context.Background()); len(again) != 0 {
		t.Fatalf("recovered twice: %v", again)
	}
}

func crashChild(t *testing.T, root string) {
	r, _ := newTestRecorder(t, root)
	cam := newUDPTrack(t, "TR_cam", webrtc.MimeTypeH264, webrtc.RTPCodecTypeVideo)
	mic := newUDPTrack(t, "TR_mic", webrtc.MimeTypeOpus, webrtc.RTPCodecTypeAudio)
	rec, err := r.Start(context.Background(), StartRequest{ID: "crashed", Meta: Meta{Title: "cut off"}})
	must(t, err)
	must(t, rec.AddTrack(context.Background(), cam))
	must(t, rec.AddTrack(context.Background(), mic))
	ff := testmedia.Publish(context.Background(), t, 60*time.Second, "640x360", "h264", cam.port, "opus", mic.port)
	_ = ff.Wait() // killed long before
}

func scanFile(path string) *fmp4x.Index {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	st, _ := f.Stat()
	ix, err := fmp4x.Scan(f, st.Size())
	if err != nil {
		return nil
	}
	return ix
}

// TestDiskFull records onto a 700 KB tmpfs until it fills: the recording
// stops by itself, is cataloged incomplete with what was kept, the alert
// metric moves, and every kept fragment decodes.
func TestDiskFull(t *testing.T) {
	testmedia.RequireFFmpeg(t)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=700k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
	r, cat := newTestRecorder(t, mnt)
	cam := newUDPTrack(t, "TR_cam", webrtc.MimeTypeH264, webrtc.RTPCodecTypeVideo)
	mic := newUDPTrack(t, "TR_mic", webrtc.MimeTypeOpus, webrtc.RTPCodecTypeAudio)
	rec, err := r.Start(context.Background(), StartRequest{ID: "full"})
	must(t, err)
	must(t, rec.AddTrack(context.Background(), cam))
	must(t, rec.AddTrack(context.Background(), mic))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	testmedia.Publish(ctx, t, 40*time.Second, "640x360", "h264", cam.port, "opus", mic.port)
	select {
	case <-rec.Done():
	case <-time.After(40 * time.Second):
		t.Fatal("recording did not stop on a full disk")
	}
	cancel()
	a, err := cat.Get(context.Background(), "full")
	must(t, err)
	t.Logf("status %s reason %q duration %v", a.Status, a.Reason, a.Duration)
	if a.Status != catalog.StatusIncomplete || !strings.Contains(a.Reason, "no space") {
		t.Fatalf("asset %+v", a)
	}
	if n := testutilCounter(r); n != 1 {
		t.Fatalf("write error metric %v", n)
	}
	for _, tr := range a.Tracks {
		file := filepath.Join(mnt, "full", tr.Files[0])
		if ix := scanFile(file); ix == nil || ix.Torn || len(ix.Fragments) == 0 {
			t.Fatalf("%s: %+v", file, ix)
		}
		testmedia.Decode(t, file)
	}
	if _, err := os.Stat(filepath.Join(mnt, "full", finalFile)); err != nil {
		t.Logf("finalize marker not written on the full disk (%v); Recover would redo it", err)
	}
	_ = fmt.Sprint()
}
