package rtsp

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// SourceConfig describes an RTSP camera pulled into a room.
type SourceConfig struct {
	// ID names the source in the admin API and metrics. It defaults to
	// "<Room>/<Identity>".
	ID string `json:"id" yaml:"id"`
	// URL is rtsp://user:pass@host:port/path. Required.
	URL string `json:"url" yaml:"url"`
	// Room and Identity place the camera in the SFU. Required.
	Room     string `json:"room" yaml:"room"`
	Identity string `json:"identity" yaml:"identity"`
	// Name is the participant's display name. It defaults to Identity.
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Transport is "tcp" (interleaved) or "udp". It defaults to "tcp", which
	// works through NAT and firewalls.
	Transport string `json:"transport,omitempty" yaml:"transport,omitempty"`
	// StallTimeout reconnects when no packet arrived for this long. It
	// defaults to 5 s.
	StallTimeout time.Duration `json:"stall_timeout,omitempty" yaml:"stall_timeout,omitempty"`
	// MinBackoff and MaxBackoff bound the wait between attempts, which
	// doubles per failure, with ±25 % jitter. They default to 250 ms and 30 s.
	MinBackoff time.Duration `json:"min_backoff,omitempty" yaml:"min_backoff,omitempty"`
	MaxBackoff time.Duration `json:"max_backoff,omitempty" yaml:"max_backoff,omitempty"`
}

func (c *SourceConfig) setDefaults() error {
	u, err := base.ParseURL(c.URL)
	if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
		return fmt.Errorf("%w: source URL %q: want rtsp://[user:pass@]host[:port]/path", ErrBadConfig, redactURL(c.URL))
	}
	if checkSegment(c.Room) != nil || checkSegment(c.Identity) != nil {
		return fmt.Errorf("%w: room %q and identity %q must be non-empty [A-Za-z0-9._~@-]", ErrBadConfig, c.Room, c.Identity)
	}
	if c.ID == "" {
		c.ID = c.Room + "/" + c.Identity
	}
	if c.Name == "" {
		c.Name = c.Identity
	}
	switch c.Transport {
	case "":
		c.Transport = "tcp"
	case "tcp", "udp":
	default:
		return fmt.Errorf("%w: transport %q: want tcp or udp", ErrBadConfig, c.Transport)
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = 5 * time.Second
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 250 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = c.MinBackoff
	}
	return nil
}

// Source status values.
const (
	StatusConnecting = "connecting"
	StatusConnected  = "connected"
	StatusRetrying   = "retrying"
	StatusClosed     = "closed"
)

// SourceState is a snapshot of a pull source for the admin API.
type SourceState struct {
	ID       string `json:"id"`
	Room     string `json:"room"`
	Identity string `json:"identity"`
	URL      string `json:"url"` // password removed
	Status   string `json:"status"`
	// LastError is the last reason the source failed or dropped.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// Reconnects counts attempts after the first.
	Reconnects     uint64    `json:"reconnects"`
	ConnectedSince time.Time `json:"connected_since,omitzero"`
	// BitrateBps is the RTP payload rate over the last second.
	BitrateBps float64 `json:"bitrate_bps"`
	// Tracks lists what is published ("camera:video/H264"); Skipped what the
	// camera offered that classcast does not carry (e.g. "AAC").
	Tracks  []string `json:"tracks,omitempty"`
	Skipped []string `json:"skipped,omitempty"`
}

// Source is an actor that keeps one RTSP camera published in a room: it
// connects, publishes, and reconnects with capped, jittered exponential
// backoff when the camera drops or stalls. The participant stays published
// across reconnects as long as the camera offers the same codecs, so
// subscribers see a pause, not a leave and join.
//
// Keyframe requests from the SFU are sent to the camera as RTCP PLI; most
// cameras ignore them (RTSP has no standard keyframe request), so their GOP
// length bounds a new subscriber's wait. Reconnecting to force a keyframe is
// deliberately not done: it costs seconds of outage for everyone.
type Source struct {
	cfg  SourceConfig
	host Host
	log  *slog.Logger
	lim  *logLimiter

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// owned by run()
	pub   Publication
	specs []TrackSpec
	pipes []*trackPipe
	conn  atomic.Pointer[pullConn] // current connection, for keyframe requests

	mu    sync.Mutex // guards state
	state SourceState
	// bitrate sampling (guarded by mu)
	sampleBytes uint64
	sampleAt    time.Time
}

// pullConn is what a keyframe request needs of the current connection.
type pullConn struct {
	client *gortsplib.Client
	medias []*description.Media
}

// NewSource validates cfg and starts the source.
func NewSource(cfg SourceConfig, host Host, log *slog.Logger) (*Source, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if host == nil {
		return nil, fmt.Errorf("%w: Host is required", ErrBadConfig)
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Source{
		cfg: cfg, host: host, lim: newLogLimiter(time.Minute),
		log:  log.With("component", "rtsp-pull", "source", cfg.ID, "url", redactURL(cfg.URL)),
		done: make(chan struct{}),
		state: SourceState{ID: cfg.ID, Room: cfg.Room, Identity: cfg.Identity,
			URL: redactURL(cfg.URL), Status: StatusConnecting},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.run()
	return s, nil
}

// Config returns the source's configuration with defaults applied.
func (s *Source) Config() SourceConfig { return s.cfg }

// State returns a snapshot of the source's state.
func (s *Source) State() SourceState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	st.Tracks, st.Skipped = slices.Clone(st.Tracks), slices.Clone(st.Skipped)
	return st
}

// Close stops the source, unpublishes it and waits for it.
func (s *Source) Close() {
	s.cancel()
	<-s.done
}

func (s *Source) run() {
	defer close(s.done)
	reason := s.runInner()
	if s.pub != nil {
		s.pub.Close()
	}
	s.setState(func(st *SourceState) { st.Status, st.BitrateBps = StatusClosed, 0 })
	s.log.Info("closed", "reason", reason)
}

func (s *Source) runInner() error {
	failures := 0
	for {
		connected, err := s.connectOnce()
		if s.ctx.Err() != nil {
			return fmt.Errorf("source removed: %w", ErrClosed)
		}
		if connected {
			failures = 0 // it worked for a while: start backing off afresh
		}
		delay := backoff(s.cfg.MinBackoff, s.cfg.MaxBackoff, failures)
		failures++
		s.setState(func(st *SourceState) {
			st.Status, st.LastError, st.LastErrorAt = StatusRetrying, err.Error(), time.Now()
			st.ConnectedSince, st.BitrateBps = time.Time{}, 0
			st.Reconnects++
		})
		s.lim.warn(s.log, causeKey(err), "source down, retrying", "error", err, "in", delay.Round(time.Millisecond))
		t := time.NewTimer(delay)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return fmt.Errorf("source removed: %w", ErrClosed)
		case <-t.C:
		}
	}
}

// causeKey groups errors by kind ("connect", "describe", "codecs", …) so the
// log shows one line per cause, not one per attempt.
func causeKey(err error) string {
	k, _, _ := strings.Cut(err.Error(), ":")
	return k
}

// backoff returns min·2^n capped at max, with ±25 % jitter so cameras that
// dropped together (a switch reboot) do not reconnect in lockstep.
func backoff(minD, maxD time.Duration, n int) time.Duration {
	d := minD
	for i := 0; i < n && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	jitter := 0.75 + rand.Float64()/2 //nolint:gosec // jitter, not security
	return time.Duration(float64(d) * jitter)
}

// connectOnce runs one connection until it fails. connected reports whether
// media flowed (so the backoff restarts).
func (s *Source) connectOnce() (connected bool, err error) {
	u, err := base.ParseURL(s.cfg.URL)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	transport := gortsplib.TransportTCP
	if s.cfg.Transport == "udp" {
		transport = gortsplib.TransportUDP
	}
	c := &gortsplib.Client{
		Scheme: u.Scheme, Host: u.Host, Transport: &transport,
		ReadTimeout: s.cfg.StallTimeout, WriteTimeout: s.cfg.StallTimeout,
		OnDecodeError: func(err error) {
			s.lim.warn(s.log, "decode", "camera sent undecodable data", "error", err)
		},
	}
	if err := c.Start2(); err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	go func() { // Close unblocks Describe/Setup/Play when the source is removed
		defer close(watchDone)
		select {
		case <-s.ctx.Done():
			c.Close()
		case <-stopWatch:
		}
	}()
	defer func() {
		close(stopWatch)
		<-watchDone
		s.conn.Store(nil)
		c.Close()
	}()

	plan, err := s.describe(c, u)
	if err != nil {
		return false, err
	}
	return s.play(c, plan)
}

func (s *Source) describe(c *gortsplib.Client, u *base.URL) (trackPlan, error) {
	desc, res, err := c.Describe(u)
	if err != nil {
		return trackPlan{}, fmt.Errorf("describe: %w", err)
	}
	_, rawSDP, _ := parseSDP(res.Body)
	plan, err := planTracks(desc, rawSDP, false)
	if err != nil {
		return trackPlan{}, fmt.Errorf("codecs: %w", err)
	}
	medias := make([]*description.Media, len(plan.tracks))
	for i, t := range plan.tracks {
		medias[i] = t.media
	}
	if err := c.SetupAll(desc.BaseURL, medias); err != nil {
		return trackPlan{}, fmt.Errorf("setup: %w", err)
	}
	return plan, nil
}

func (s *Source) play(c *gortsplib.Client, plan trackPlan) (bool, error) {
	if err := s.ensurePublished(plan); err != nil {
		return false, err
	}
	failed := make(chan error, 1)
	medias := make([]*description.Media, len(plan.tracks))
	for i, t := range plan.tracks {
		pipe := s.pipes[i]
		medias[i] = t.media
		c.OnPacketRTP(t.media, t.format, func(pkt *rtp.Packet) {
			pipe.inSSRC.Store(pkt.SSRC)
			if err := pipe.write(pkt); err != nil {
				select {
				case failed <- fmt.Errorf("sfu refused packets: %w", err):
				default:
				}
			}
		})
	}
	s.conn.Store(&pullConn{client: c, medias: medias})
	if _, err := c.Play(nil); err != nil {
		return false, fmt.Errorf("play: %w", err)
	}
	started := time.Now()
	s.setState(func(st *SourceState) {
		st.Status, st.ConnectedSince = StatusConnected, started
		st.Skipped = plan.skipped
		st.Tracks = st.Tracks[:0]
		for _, t := range plan.tracks {
			st.Tracks = append(st.Tracks, t.spec.Name+":"+t.spec.Codec.MimeType)
		}
	})
	s.log.Info("connected", "tracks", len(plan.tracks), "skipped", plan.skipped)
	var connErr error
	connDone := make(chan struct{})
	go func() {
		connErr = c.Wait()
		close(connDone)
	}()
	err := s.watch(connDone, &connErr, failed, started)
	c.Close()
	<-connDone // c.Wait has returned: no goroutine left behind
	return s.totalPackets() > 0, err
}

// watch waits for the connection to end, stall, or be refused by the SFU,
// and samples the bitrate once a second.
func (s *Source) watch(connDone <-chan struct{}, connErr *error, failed <-chan error, started time.Time) error {
	tick := time.NewTicker(min(time.Second, s.cfg.StallTimeout/4))
	defer tick.Stop()
	for {
		select {
		case <-connDone:
			return fmt.Errorf("connection lost: %w", *connErr)
		case err := <-failed:
			return err
		case <-s.ctx.Done():
			return ErrClosed
		case now := <-tick.C:
			s.sampleBitrate(now)
			last := started
			for _, p := range s.pipes {
				if ns := p.lastPacket.Load(); ns > last.UnixNano() {
					last = time.Unix(0, ns)
				}
			}
			if now.Sub(last) > s.cfg.StallTimeout {
				return fmt.Errorf("no packet for %v: %w", now.Sub(last).Round(time.Second), ErrStalled)
			}
		}
	}
}

// ensurePublished publishes the camera, or keeps the existing publication
// (rebasing its pipes) when the codecs did not change.
func (s *Source) ensurePublished(plan trackPlan) error {
	specs := make([]TrackSpec, len(plan.tracks))
	for i, t := range plan.tracks {
		specs[i] = t.spec
	}
	if s.pub != nil && slices.EqualFunc(specs, s.specs, sameSpec) {
		for i, p := range s.pipes {
			p.rebase(plan.tracks[i])
		}
		return nil
	}
	if s.pub != nil {
		s.pub.Close()
		s.pub, s.pipes = nil, nil
	}
	pub, err := publish(s.host, 5*time.Second, s.cfg.Room, s.cfg.Identity, s.cfg.Name, plan.tracks)
	if err != nil {
		return err
	}
	s.pub, s.specs = pub, specs
	prods := pub.Producers()
	s.pipes = make([]*trackPipe, len(plan.tracks))
	for i, t := range plan.tracks {
		s.pipes[i] = newTrackPipe(prods[i], t, time.Now)
		pipe, idx := s.pipes[i], i
		prods[i].OnKeyframeRequest(func(int) {
			if pc := s.conn.Load(); pc != nil && idx < len(pc.medias) {
				if ssrc := pipe.inSSRC.Load(); ssrc != 0 {
					_ = pc.client.WritePacketRTCP(pc.medias[idx], &rtcp.PictureLossIndication{MediaSSRC: ssrc})
				}
			}
		})
	}
	return nil
}

// sameSpec compares what subscribers negotiated (not the source's PT).
func sameSpec(a, b TrackSpec) bool {
	return a.Kind == b.Kind && a.Source == b.Source && a.Codec.MimeType == b.Codec.MimeType &&
		a.Codec.ClockRate == b.Codec.ClockRate && a.Codec.SDPFmtpLine == b.Codec.SDPFmtpLine
}

func (s *Source) totalPackets() (n uint64) {
	for _, p := range s.pipes {
		n += p.packets.Load()
	}
	return n
}

func (s *Source) sampleBitrate(now time.Time) {
	var total uint64
	for _, p := range s.pipes {
		total += p.bytes.Load()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sampleAt.IsZero() && total >= s.sampleBytes {
		if d := now.Sub(s.sampleAt).Seconds(); d > 0 {
			s.state.BitrateBps = float64(total-s.sampleBytes) * 8 / d
		}
	}
	s.sampleBytes, s.sampleAt = total, now
}

func (s *Source) setState(f func(*SourceState)) {
	s.mu.Lock()
	f(&s.state)
	s.mu.Unlock()
}

// redactURL removes the password from an RTSP URL for logs and the API.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid URL>"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}
