package classroom_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/classroom"
	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/sfu/node"
)

func testLogger() *slog.Logger {
	if os.Getenv("CLASSROOM_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func startNode(t testing.TB) *node.Node {
	t.Helper()
	cfg := node.Defaults()
	cfg.Dev = true
	cfg.Port, cfg.RTC.UDPPort, cfg.RTC.TCPPort = 0, 0, 0
	cfg.Room.DepartureTimeout = 2 * time.Second
	cfg.Room.ResumeGrace = 5 * time.Second
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.Close(ctx)
	})
	return n
}

var (
	apiOnce sync.Once
	apiVal  *client.API
)

func loopbackAPI(t testing.TB) *client.API {
	apiOnce.Do(func() {
		se := webrtc.SettingEngine{}
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		a, err := client.NewAPI(client.APIConfig{SettingEngine: &se})
		if err != nil {
			t.Fatal(err)
		}
		apiVal = a
	})
	return apiVal
}

// who describes a test participant's token.
type who struct {
	identity  string
	role      classroom.Role // "" = plain LiveKit token (all grants)
	classroom string
	mode      classroom.Mode
	// grant overrides the role's grant (e.g. a permissive token).
	grant *auth.VideoGrant
}

func mint(t testing.TB, roomName string, w who) string {
	t.Helper()
	g := &auth.VideoGrant{}
	var attrs map[string]string
	if w.role != "" {
		g = w.role.Grant()
		var err error
		if attrs, err = classroom.TokenAttributes(w.role, w.classroom, "Class "+w.classroom, w.mode); err != nil {
			t.Fatal(err)
		}
	}
	if w.grant != nil {
		g = w.grant
	}
	g.RoomJoin, g.Room = true, roomName
	at := auth.NewAccessToken("devkey", "secret").SetIdentity(w.identity).SetValidFor(time.Hour).SetVideoGrant(g)
	if attrs != nil {
		at.SetAttributes(attrs)
	}
	jwt, err := at.ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

// peer is a connected test client that records what the classroom layer
// tells it.
type peer struct {
	t    testing.TB
	id   string
	room *client.Room

	mu          sync.Mutex
	state       *classroom.State
	states      int
	stateBytes  int
	res         map[string]classroom.Response
	untagged    []classroom.Response
	board       []map[string]any
	snapshots   []map[string]any
	notices     []map[string]any
	refusals    []*livekit.RequestResponse
	speakers    []speakerEvent
	unpublished []string
	resumed     int
	nextID      int
}

type speakerEvent struct {
	at       time.Time
	speakers []*livekit.SpeakerInfo
}

func join(t testing.TB, ctx context.Context, url, roomName string, w who, opts ...client.Option) *peer {
	t.Helper()
	p := &peer{t: t, id: w.identity, res: map[string]classroom.Response{}}
	cb := client.Callbacks{
		OnData:            p.onData,
		OnRequestResponse: func(rr *livekit.RequestResponse) { p.mu.Lock(); p.refusals = append(p.refusals, rr); p.mu.Unlock() },
		OnSpeakersChanged: func(s []*livekit.SpeakerInfo) {
			p.mu.Lock()
			p.speakers = append(p.speakers, speakerEvent{at: time.Now(), speakers: s})
			p.mu.Unlock()
		},
		OnReconnected: func(bool) { p.mu.Lock(); p.resumed++; p.mu.Unlock() },
		OnLocalTrackUnpublished: func(lt *client.LocalTrack) {
			p.mu.Lock()
			p.unpublished = append(p.unpublished, lt.SID())
			p.mu.Unlock()
		},
	}
	opts = append([]client.Option{client.WithAPI(loopbackAPI(t)), client.WithLogger(testLogger()),
		client.WithCallbacks(cb)}, opts...)
	r, err := client.Connect(ctx, url, mint(t, roomName, w), opts...)
	if err != nil {
		t.Fatalf("%s connect: %v", w.identity, err)
	}
	p.room = r
	t.Cleanup(func() { _ = r.Close() })
	return p
}

func (p *peer) onData(d client.DataMessage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch d.Topic {
	case classroom.TopicState:
		var s classroom.State
		if json.Unmarshal(d.Payload, &s) == nil && (p.state == nil || s.Version >= p.state.Version) {
			p.state = &s
		}
		p.states++
		p.stateBytes = len(d.Payload)
	case classroom.TopicResponse:
		var r classroom.Response
		if json.Unmarshal(d.Payload, &r) == nil {
			if r.ID == "" {
				p.untagged = append(p.untagged, r)
			} else {
				p.res[r.ID] = r
			}
		}
	case classroom.TopicWhiteboard:
		var m map[string]any
		if json.Unmarshal(d.Payload, &m) == nil {
			if m["op"] == classroom.OpSnapshot {
				p.snapshots = append(p.snapshots, m)
			} else {
				p.board = append(p.board, m)
			}
		}
	case classroom.TopicNotify:
		var m map[string]any
		if json.Unmarshal(d.Payload, &m) == nil {
			p.notices = append(p.notices, m)
		}
	}
}

// send sends a raw payload on a topic.
func (p *peer) send(topic string, payload []byte) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.room.SendData(ctx, payload, client.Reliable, nil, topic); err != nil {
		p.t.Fatalf("%s send: %v", p.id, err)
	}
}

// do sends a request and waits for its answer.
func (p *peer) do(typ string, fields map[string]any) classroom.Response {
	p.t.Helper()
	p.mu.Lock()
	p.nextID++
	id := fmt.Sprintf("%s-%d", p.id, p.nextID)
	p.mu.Unlock()
	m := map[string]any{"id": id, "type": typ}
	for k, v := range fields {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	p.send(classroom.TopicRequest, b)
	var res classroom.Response
	waitFor(p.t, 5*time.Second, p.id+" answer to "+typ, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		r, ok := p.res[id]
		res = r
		return ok
	})
	return res
}

func (p *peer) draw(op map[string]any) {
	p.t.Helper()
	b, _ := json.Marshal(op)
	p.send(classroom.TopicWhiteboard, b)
}

func (p *peer) latest() *classroom.State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

func (p *peer) waitState(what string, cond func(*classroom.State) bool) *classroom.State {
	p.t.Helper()
	var s *classroom.State
	waitFor(p.t, 10*time.Second, p.id+": "+what, func() bool {
		s = p.latest()
		return s != nil && cond(s)
	})
	return s
}

func (p *peer) sid() string { return p.room.LocalParticipant().GetSid() }

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
}

// audioSource is a raw Opus RTP track writing tiny synthetic frames, with
// the RFC 6464 audio level header extension when extID != 0.
type audioSource struct {
	track *webrtc.TrackLocalStaticRTP
	level chan uint8
}

func newAudioSource(id string) *audioSource {
	tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, id, id)
	if err != nil {
		panic(err)
	}
	return &audioSource{track: tr, level: make(chan uint8, 1)}
}

// setLevel changes the level written from now on (0 loudest, 127 silent).
func (a *audioSource) setLevel(l uint8) {
	select {
	case <-a.level:
	default:
	}
	a.level <- l
}

// run writes one packet every interval until ctx ends.
func (a *audioSource) run(ctx context.Context, wg *sync.WaitGroup, interval time.Duration, extID uint8) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		level := uint8(127)
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111}, Payload: []byte{0xf8, 0xff, 0xfe}}
		samples := uint32(48000 * interval / time.Second)
		for {
			select {
			case <-ctx.Done():
				return
			case l := <-a.level:
				level = l
			case <-tick.C:
			}
			pkt.SequenceNumber++
			pkt.Timestamp += samples
			if extID != 0 {
				vad := byte(0)
				if level < 127 {
					vad = 0x80
				}
				_ = pkt.Header.SetExtension(extID, []byte{vad | level&0x7f})
			}
			_ = a.track.WriteRTP(pkt)
		}
	}()
}

func publishAudio(t testing.TB, ctx context.Context, p *peer, a *audioSource) *client.LocalTrack {
	t.Helper()
	lt, err := p.room.PublishTrack(ctx, a.track, client.PublishOptions{Name: "mic", Source: livekit.TrackSource_MICROPHONE, DisableRED: true})
	if err != nil {
		t.Fatalf("%s publish mic: %v", p.id, err)
	}
	return lt
}

// publishVideo publishes a small VP8 camera (raw RTP keyframe-less
// packets are enough for the SFU to forward).
func publishVideo(t testing.TB, ctx context.Context, wg *sync.WaitGroup, p *peer, src livekit.TrackSource) (*client.LocalTrack, error) {
	t.Helper()
	tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "v-"+p.id+"-"+src.String(), p.id)
	if err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	lt, err := p.room.PublishTrack(pctx, tr, client.PublishOptions{Name: strings.ToLower(src.String()), Source: src, Width: 320, Height: 180})
	if err != nil {
		return nil, err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		// A VP8 keyframe header (one packet per frame) the SFU can parse.
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: true},
			Payload: []byte{0x10, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00, 0x00, 0x00}}
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			pkt.SequenceNumber++
			pkt.Timestamp += 9000
			_ = tr.WriteRTP(pkt)
		}
	}()
	return lt, nil
}

// receiving reports whether p gets packets of track sid.
func receiving(p *peer, sid string) bool {
	for _, rt := range p.room.RemoteTracks() {
		if rt.SID == sid && !rt.Ended() && rt.Stats().Packets > 0 {
			return true
		}
	}
	return false
}

func subscribed(p *peer, sid string) bool {
	for _, rt := range p.room.RemoteTracks() {
		if rt.SID == sid && !rt.Ended() {
			return true
		}
	}
	return false
}
