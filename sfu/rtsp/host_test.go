package rtsp

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"

	"github.com/classcast/classcast/sfu/track"
)

// fakeHost is a function-field Host; newLoopHost fills the fields with an
// in-memory SFU where each Producer is also the Published track, so what an
// RTSP publisher sends reaches attached writers directly.
type fakeHost struct {
	PublishFunc func(ctx context.Context, room, identity, name string, tracks []TrackSpec) (Publication, error)
	LookupFunc  func(room, identity string) ([]track.Published, error)
}

func (h *fakeHost) Publish(ctx context.Context, room, identity, name string, tracks []TrackSpec) (Publication, error) {
	return h.PublishFunc(ctx, room, identity, name, tracks)
}

func (h *fakeHost) Lookup(room, identity string) ([]track.Published, error) {
	return h.LookupFunc(room, identity)
}

// loopSFU is the in-memory room state behind newLoopHost.
type loopSFU struct {
	mu           sync.Mutex
	participants map[string]*loopPub // room/identity
	published    chan *loopPub       // every Publish, for tests to wait on
	nextSID      int
}

func newLoopHost() (*fakeHost, *loopSFU) {
	sfu := &loopSFU{participants: map[string]*loopPub{}, published: make(chan *loopPub, 16)}
	h := &fakeHost{
		PublishFunc: sfu.publish,
		LookupFunc: func(room, identity string) ([]track.Published, error) {
			sfu.mu.Lock()
			defer sfu.mu.Unlock()
			p := sfu.participants[room+"/"+identity]
			if p == nil {
				return nil, fmt.Errorf("participant %s in %s: %w", identity, room, ErrNotFound)
			}
			out := make([]track.Published, len(p.tracks))
			for i, t := range p.tracks {
				out[i] = t
			}
			return out, nil
		},
	}
	return h, sfu
}

func (s *loopSFU) publish(_ context.Context, room, identity, name string, specs []TrackSpec) (Publication, error) {
	s.mu.Lock()
	p := &loopPub{sfu: s, key: room + "/" + identity, name: name, specs: specs, closed: make(chan struct{})}
	for _, sp := range specs {
		s.nextSID++
		p.tracks = append(p.tracks, &loopTrack{
			info: track.Info{SID: fmt.Sprintf("TR_%d", s.nextSID), Name: sp.Name, Kind: sp.Kind,
				Source: sp.Source, Codec: sp.Codec, ParticipantIdentity: identity},
			packets: make(chan rtp.Packet, 4096),
		})
	}
	if old := s.participants[p.key]; old != nil {
		old.markClosed()
	}
	s.participants[p.key] = p
	s.mu.Unlock()
	s.published <- p
	return p, nil
}

type loopPub struct {
	sfu    *loopSFU
	key    string
	name   string
	specs  []TrackSpec
	tracks []*loopTrack

	once   sync.Once
	closed chan struct{}
}

func (p *loopPub) Producers() []track.Producer {
	out := make([]track.Producer, len(p.tracks))
	for i, t := range p.tracks {
		out[i] = t
	}
	return out
}

func (p *loopPub) Close() {
	p.sfu.mu.Lock()
	if p.sfu.participants[p.key] == p {
		delete(p.sfu.participants, p.key)
	}
	p.sfu.mu.Unlock()
	p.markClosed()
}

func (p *loopPub) markClosed() { p.once.Do(func() { close(p.closed) }) }

// loopTrack is both the Producer written by the RTSP ingest and the
// Published track RTSP readers attach to.
type loopTrack struct {
	info    track.Info
	packets chan rtp.Packet // copies of everything written, for assertions

	mu        sync.Mutex
	writers   map[*loopAttachment]struct{}
	keyframes int
	onKF      func(int)
}

func (t *loopTrack) WriteRTP(layer int, p *rtp.Packet) error {
	cp := rtp.Packet{Header: p.Header, Payload: append([]byte(nil), p.Payload...)}
	cp.Header.CSRC = nil
	cp.Header.Extensions = nil
	select {
	case t.packets <- cp:
	default:
	}
	t.mu.Lock()
	ws := make([]*loopAttachment, 0, len(t.writers))
	for w := range t.writers {
		ws = append(ws, w)
	}
	t.mu.Unlock()
	for _, w := range ws {
		_, _ = w.w.WriteRTP(&cp.Header, cp.Payload)
	}
	return nil
}

func (t *loopTrack) OnKeyframeRequest(f func(layer int)) {
	t.mu.Lock()
	t.onKF = f
	t.mu.Unlock()
}

func (t *loopTrack) Close() {}

func (t *loopTrack) Info() track.Info { return t.info }

func (t *loopTrack) Attach(w track.RTPWriter, _ track.AttachOptions) (track.Attachment, error) {
	a := &loopAttachment{t: t, w: w}
	t.mu.Lock()
	if t.writers == nil {
		t.writers = map[*loopAttachment]struct{}{}
	}
	t.writers[a] = struct{}{}
	t.mu.Unlock()
	return a, nil
}

type loopAttachment struct {
	t *loopTrack
	w track.RTPWriter
}

func (a *loopAttachment) RequestKeyframe() {
	a.t.mu.Lock()
	a.t.keyframes++
	f := a.t.onKF
	a.t.mu.Unlock()
	if f != nil {
		f(0)
	}
}

func (a *loopAttachment) SetQuality(livekit.VideoQuality) {}

func (a *loopAttachment) Close() {
	a.t.mu.Lock()
	delete(a.t.writers, a)
	a.t.mu.Unlock()
}

// keyAuth accepts stream key "sk-good" (Basic or Digest) and token
// "tok-good" (Basic only) for any room except "locked".
type keyAuth struct{}

func (keyAuth) Authorize(_ Access, room, _, _, pass string) error {
	if room != "locked" && (pass == "sk-good" || pass == "tok-good") {
		return nil
	}
	return ErrUnauthorized
}

func (keyAuth) DigestSecrets(_ Access, room, _ string) []string {
	if room == "locked" {
		return nil
	}
	return []string{"sk-good"}
}

// freeUDPPair finds an even/odd pair of free loopback UDP ports.
func freeUDPPair(t *testing.T) (int, int) {
	t.Helper()
	for range 100 {
		a, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := a.LocalAddr().(*net.UDPAddr).Port
		if p%2 != 0 || p+1 > 65535 {
			a.Close()
			continue
		}
		b, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p+1))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return p, p + 1
	}
	t.Fatal("no free UDP port pair")
	return 0, 0
}

func needTool(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("%s not installed (apt-get install -y --no-install-recommends ffmpeg): %v", n, err)
		}
	}
}

func waitPublished(t *testing.T, sfu *loopSFU, d time.Duration) *loopPub {
	t.Helper()
	select {
	case p := <-sfu.published:
		return p
	case <-time.After(d):
		t.Fatal("nothing was published")
		return nil
	}
}
