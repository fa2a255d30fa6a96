package node

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	client "github.com/classcast/classcast/client-sdk/go"
)

// seqWatch records, per track, sequence gaps seen by a subscriber: on
// loopback nothing is lost, so any gap is the SFU's rewriting at fault.
type seqWatch struct {
	mu sync.Mutex
	// missing holds sequence numbers skipped and not (yet) retransmitted:
	// on a loaded machine loopback drops a packet now and then, and NACK
	// brings it back; what stays missing is the SFU's rewriting at fault.
	missing map[string]map[uint16]bool
	last    map[string]uint16
	seen    map[string]bool
	gaps    map[string]int
	backs   map[string]int
	packets map[string]int
	tsBack  map[string]int
	lastTS  map[string]uint32
}

func newSeqWatch() *seqWatch {
	return &seqWatch{missing: map[string]map[uint16]bool{}, last: map[string]uint16{}, seen: map[string]bool{}, gaps: map[string]int{},
		backs: map[string]int{}, packets: map[string]int{}, tsBack: map[string]int{}, lastTS: map[string]uint32{}}
}

func (w *seqWatch) onRTP(t *client.RemoteTrack, p *rtp.Packet) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := t.SID
	w.packets[k]++
	if w.seen[k] {
		d := p.SequenceNumber - w.last[k]
		if w.missing[k] == nil {
			w.missing[k] = map[uint16]bool{}
		}
		switch {
		case d == 1:
		case d == 0 || d > 0x8000:
			w.backs[k]++ // duplicate or reordered (retransmission)
			delete(w.missing[k], p.SequenceNumber)
			return
		default:
			for s := w.last[k] + 1; s != p.SequenceNumber; s++ {
				w.missing[k][s] = true
			}
		}
		if int32(p.Timestamp-w.lastTS[k]) < 0 {
			w.tsBack[k]++
		}
	}
	w.seen[k] = true
	w.last[k] = p.SequenceNumber
	w.lastTS[k] = p.Timestamp
}

// get reports packets, sequence numbers never received, and timestamps
// that went backwards.
func (w *seqWatch) get(sid string) (packets, gaps, tsBack int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.packets[sid], len(w.missing[sid]), w.tsBack[sid]
}

func videoTrack(r *client.Room) *client.RemoteTrack {
	for _, t := range r.RemoteTracks() {
		if t.Kind.String() == "video" {
			return t
		}
	}
	return nil
}

func audioTrack(r *client.Room) *client.RemoteTrack {
	for _, t := range r.RemoteTracks() {
		if t.Kind.String() == "audio" {
			return t
		}
	}
	return nil
}

// TestSimulcastLayersPerSubscriber: a teacher publishes 3-layer VP8
// simulcast + Opus; three classrooms ask for low, medium and high and each
// receives that layer; one switches up and down mid-stream with no sequence
// gap; NACKs are answered from the shared cache.
func TestSimulcastLayersPerSubscriber(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	// Layer selection by request, not by bandwidth (tested with shaped
	// links elsewhere): a busy 2-core CI box makes loopback delay noisy.
	n := startNodeWith(t, func(c *Config) { c.RTC.NoCongestionControl = true })
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()

	teacher := connect(t, ctx, n, "lesson", "teacher", nil)
	publishLesson(t, ctx, &pumps, teacher)

	want := []struct {
		id string
		q  livekit.VideoQuality
		w  int
	}{{"class-low", livekit.VideoQuality_LOW, 320}, {"class-mid", livekit.VideoQuality_MEDIUM, 640}, {"class-high", livekit.VideoQuality_HIGH, 1280}}
	watches := make([]*seqWatch, len(want))
	rooms := make([]*client.Room, len(want))
	for i, w := range want {
		watches[i] = newSeqWatch()
		cb := client.Callbacks{OnRTP: watches[i].onRTP}
		rooms[i] = connect(t, ctx, n, "lesson", w.id, nil, client.WithAutoDrain(), client.WithCallbacks(cb))
	}
	for i, w := range want {
		r := rooms[i]
		waitFor(t, 10*time.Second, w.id+" subscribed to video and audio", func() bool {
			return videoTrack(r) != nil && audioTrack(r) != nil
		})
		if err := videoTrack(r).SetSettings(client.TrackSettings{Quality: w.q}); err != nil {
			t.Fatal(err)
		}
	}
	for i, w := range want {
		r := rooms[i]
		waitFor(t, 15*time.Second, w.id+" receiving its layer", func() bool {
			s := videoTrack(r).Stats()
			return s.Width == w.w && s.Keyframes > 0
		})
		if s := audioTrack(r).Stats(); s.Packets == 0 {
			t.Errorf("%s: no audio", w.id)
		}
	}

	// Switch the low classroom up to high, then down to medium.
	low := rooms[0]
	vt := videoTrack(low)
	for _, step := range []struct {
		q livekit.VideoQuality
		w int
	}{{livekit.VideoQuality_HIGH, 1280}, {livekit.VideoQuality_MEDIUM, 640}} {
		if err := vt.SetSettings(client.TrackSettings{Quality: step.q}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "layer switch", func() bool { return vt.Stats().Width == step.w })
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let NACKed packets arrive
	for i, w := range want {
		vs := videoTrack(rooms[i])
		pk, gaps, tsBack := watches[i].get(vs.SID)
		t.Logf("%s: %d video packets, %d gaps, stats %+v", w.id, pk, gaps, vs.Stats())
		if pk < 50 || gaps != 0 || tsBack != 0 {
			t.Errorf("%s: %d packets, %d sequence gaps, %d timestamps going back (want 0 gaps)", w.id, pk, gaps, tsBack)
		}
	}

	// NACK: ask for packets the subscriber already has; the SFU must answer
	// from its shared cache.
	before := testutil.ToFloat64(n.rooms.Config().Metrics.Retransmits)
	high := videoTrack(rooms[2])
	watches[2].mu.Lock()
	last := watches[2].last[high.SID]
	watches[2].mu.Unlock()
	nack := &rtcp.TransportLayerNack{MediaSSRC: uint32(high.Track.SSRC()), Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{last - 5, last - 4, last - 3})}
	if err := high.WriteRTCP([]rtcp.Packet{nack}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "retransmissions", func() bool {
		return testutil.ToFloat64(n.rooms.Config().Metrics.Retransmits)-before >= 3
	})
}
