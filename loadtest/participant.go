package loadtest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	client "github.com/classcast/classcast/client-sdk/go"
	"github.com/classcast/classcast/loadtest/stats"
)

// receivedTrack is one subscribed track and its recorder.
type receivedTrack struct {
	sid, publisher, kind string
	rec                  *stats.Recorder
}

// participant is one simulated client. Its reader goroutines (one per received track) are owned by
// readers; its publishing pumps by the run's pump group.
type participant struct {
	plan      plan
	joinStart time.Time
	joinDur   time.Duration
	err       error

	readers sync.WaitGroup

	// mu guards the fields below (callbacks run on the room's event goroutine).
	mu         sync.Mutex
	room       *client.Room
	pendingSub []string
	tracks     []*receivedTrack
}

// joinEnv is what every participant of a run shares.
type joinEnv struct {
	cfg      *Config
	recvAPI  *client.API // receive-only trims, for participants that publish nothing
	fullAPI  *client.API
	mediaCtx context.Context
	pumps    *sync.WaitGroup
}

func (p *participant) token(cfg *Config) (string, error) {
	at := auth.NewAccessToken(cfg.APIKey, cfg.APISecret).SetIdentity(p.plan.identity).SetValidFor(24 * time.Hour).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: p.plan.room})
	jwt, err := at.ToJWT()
	if err != nil {
		return "", fmt.Errorf("%w: token: %w", ErrConfig, err)
	}
	return jwt, nil
}

// join connects, subscribes per plan and starts publishing. Errors are also kept in p.err.
func (p *participant) join(ctx context.Context, env *joinEnv) error {
	p.err = p.joinInner(ctx, env)
	return p.err
}

func (p *participant) joinInner(ctx context.Context, env *joinEnv) error {
	tok, err := p.token(env.cfg)
	if err != nil {
		return err
	}
	api := env.recvAPI
	if p.plan.publish != nil {
		api = env.fullAPI
	}
	opts := []client.Option{
		client.WithAPI(api), client.WithLogger(env.cfg.ClientLogger.With("identity", p.plan.identity)),
		client.WithCallbacks(client.Callbacks{
			OnTrackPublished:  p.onTrackPublished,
			OnTrackSubscribed: func(rt *client.RemoteTrack) { p.onTrackSubscribed(rt, env.cfg) },
		}),
	}
	if p.plan.wants != nil {
		opts = append(opts, client.WithAutoSubscribe(false))
	}
	p.joinStart = time.Now()
	room, err := client.Connect(ctx, env.cfg.URL, tok, opts...)
	p.joinDur = time.Since(p.joinStart)
	if err != nil {
		return fmt.Errorf("%s: connect: %w", p.plan.identity, err)
	}
	p.mu.Lock()
	p.room = room
	pending := p.pendingSub
	p.pendingSub = nil
	p.mu.Unlock()
	if len(pending) > 0 {
		if err := room.UpdateSubscription(pending, true); err != nil {
			return fmt.Errorf("%s: subscribe: %w", p.plan.identity, err)
		}
	}
	if p.plan.publish == nil {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	// Pumps run on the run's media context, not the join's.
	if err := p.plan.publish(pctx, publisher{room: room, wg: env.pumps, ctx: env.mediaCtx}); err != nil {
		return fmt.Errorf("%s: %w", p.plan.identity, err)
	}
	return nil
}

// onTrackPublished subscribes to the tracks the plan wants (auto-subscribe is off for such plans).
func (p *participant) onTrackPublished(rp *client.RemoteParticipant, t *livekit.TrackInfo) {
	if p.plan.wants == nil || !p.plan.wants(rp.Identity(), t) {
		return
	}
	p.mu.Lock()
	room := p.room
	if room == nil { // still inside Connect
		p.pendingSub = append(p.pendingSub, t.GetSid())
	}
	p.mu.Unlock()
	if room != nil {
		_ = room.UpdateSubscription([]string{t.GetSid()}, true) // a failed send shows up as a missing track
	}
}

func (p *participant) onTrackSubscribed(rt *client.RemoteTrack, cfg *Config) {
	video := rt.Kind == webrtc.RTPCodecTypeVideo
	tr := &receivedTrack{sid: rt.SID, publisher: rt.ParticipantIdentity, kind: rt.Kind.String(), rec: stats.NewRecorder(video, cfg.FreezeGap)}
	p.mu.Lock()
	p.tracks = append(p.tracks, tr)
	p.readers.Add(1)
	p.mu.Unlock()
	go p.read(rt, tr.rec)
	if video {
		_ = rt.SetSettings(client.TrackSettings{Quality: cfg.quality}) // best effort; the server default also works
	}
}

// read is the measuring path: one reused buffer, raw packets into the recorder, nothing allocated.
func (p *participant) read(rt *client.RemoteTrack, rec *stats.Recorder) {
	defer p.readers.Done()
	buf := make([]byte, 1500)
	for {
		n, _, err := rt.Track.Read(buf)
		if err != nil {
			return
		}
		rec.Observe(buf[:n], time.Now())
	}
}

// live sums the counters of every received track.
func (p *participant) live() stats.Live {
	var l stats.Live
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.tracks {
		l = l.Add(t.rec.Live())
	}
	return l
}

// close leaves the room and waits for the readers to stop.
func (p *participant) close() {
	p.mu.Lock()
	room := p.room
	p.mu.Unlock()
	if room != nil {
		_ = room.Close() // leaving is best effort at the end of a run
	}
	p.readers.Wait()
}

func (p *participant) receivedTracks() []*receivedTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*receivedTrack(nil), p.tracks...)
}
