package recorder

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/classcast/classcast/recorder/catalog"
	"github.com/classcast/classcast/recorder/internal/testmedia"
	"github.com/classcast/classcast/sfu/track"
)

// udpTrack is a track.Published fed by a real encoder over loopback UDP:
// attaching starts pumping the port's RTP (and RTCP sender reports) into
// the writer, as the SFU's forwarding goroutine would.
type udpTrack struct {
	info      track.Info
	port      *testmedia.Port
	keyframes atomic.Int32
	pumped    chan int
}

func newUDPTrack(t *testing.T, sid, mime string, kind webrtc.RTPCodecType) *udpTrack {
	rate, ch := uint32(90000), uint16(0)
	if kind == webrtc.RTPCodecTypeAudio {
		rate, ch = 48000, 2
	}
	return &udpTrack{
		info: track.Info{SID: sid, Name: sid, ParticipantSID: "PA_teacher", ParticipantIdentity: "teacher",
			Kind: kind, Source: livekit.TrackSource_CAMERA,
			Codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mime, ClockRate: rate, Channels: ch}}},
		port: testmedia.ListenPort(t), pumped: make(chan int, 1),
	}
}

func (u *udpTrack) Info() track.Info { return u.info }

type udpAttachment struct {
	u      *udpTrack
	cancel context.CancelFunc
	once   sync.Once
}

func (a *udpAttachment) RequestKeyframe()                { a.u.keyframes.Add(1) }
func (a *udpAttachment) SetQuality(livekit.VideoQuality) {}
func (a *udpAttachment) Close()                          { a.once.Do(a.cancel) }

func (u *udpTrack) Attach(w track.RTPWriter, _ track.AttachOptions) (track.Attachment, error) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { u.pumped <- testmedia.Pump(ctx, u.port, w.(testmedia.Sink), 3*time.Second) }()
	return &udpAttachment{u: u, cancel: cancel}, nil
}

func newTestRecorder(t *testing.T, root string) (*Recorder, *catalog.Catalog) {
	t.Helper()
	cat, err := catalog.Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	r, err := New(Config{Root: root, Catalog: cat, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	return r, cat
}

func testutilCounter(r *Recorder) float64 {
	return promtestutil.ToFloat64(r.Metrics().writeErrors)
}
