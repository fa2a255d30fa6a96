package rtsp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/auth"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
)

// DefaultPort is the RTSP port used when ServerConfig.Address is empty
// (the server's --rtsp-port flag).
const DefaultPort = 8554

// ServerConfig configures the RTSP server. Host and Auth are required; every
// other field has a working zero value.
type ServerConfig struct {
	// Host is the SFU. Required.
	Host Host
	// Auth decides who may publish and read. Required.
	Auth Authenticator
	// Logger receives one line per session start/end and per refusal cause.
	// It defaults to slog.Default().
	Logger *slog.Logger

	// Address is the RTSP (TCP) listen address. It defaults to ":8554".
	Address string
	// UDPRTPAddress and UDPRTCPAddress enable the UDP transport; the RTP port
	// must be even and the RTCP port the next one. They default to ":8000"
	// and ":8001" unless DisableUDP is set.
	UDPRTPAddress  string
	UDPRTCPAddress string
	// DisableUDP serves interleaved TCP only.
	DisableUDP bool
	// BasicOnly offers only Basic authentication. Set it when publishers use
	// LiveKit access tokens: with Digest the server never sees the password,
	// so only stream keys (Authenticator.DigestSecrets) can be checked, and
	// ffmpeg picks Digest whenever it is offered. It defaults to false
	// (Basic and Digest-MD5 offered).
	BasicOnly bool
	// ReadTimeout closes sessions that send nothing for this long (including
	// a publisher that stalls). It defaults to 10 s.
	ReadTimeout time.Duration
	// OutputIdle is how long a reader output (the attachment to a
	// participant's tracks) is kept after its last reader left, so a player
	// that reconnects does not wait for a fresh keyframe. It defaults to 5 s.
	OutputIdle time.Duration
	// PublishTimeout bounds Host.Publish. It defaults to 5 s.
	PublishTimeout time.Duration
}

func (c *ServerConfig) setDefaults() error {
	if c.Host == nil || c.Auth == nil {
		return fmt.Errorf("%w: Host and Auth are required", ErrBadConfig)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Address == "" {
		c.Address = fmt.Sprintf(":%d", DefaultPort)
	}
	if !c.DisableUDP && c.UDPRTPAddress == "" && c.UDPRTCPAddress == "" {
		c.UDPRTPAddress, c.UDPRTCPAddress = ":8000", ":8001"
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 10 * time.Second
	}
	if c.OutputIdle <= 0 {
		c.OutputIdle = 5 * time.Second
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = 5 * time.Second
	}
	return nil
}

// Server is the RTSP server: ANNOUNCE/RECORD to /<room>/<name> publishes
// participant <name>; DESCRIBE/PLAY of /<room>/<participant>[/camera|/whiteboard]
// serves a participant's tracks.
type Server struct {
	cfg     ServerConfig
	log     *slog.Logger
	limit   *logLimiter
	rtsp    *gortsplib.Server
	metrics *serverMetrics

	addrMu sync.Mutex
	addr   net.Addr

	// mu guards the maps below. Never held across Host calls or writes.
	mu         sync.Mutex
	publishers map[string]*pushSession // by Path.key()
	outputs    map[string]*output      // by Path.String()
	closed     bool

	janitorDone chan struct{}
	stop        chan struct{}
}

// NewServer validates cfg. Call Start to listen.
func NewServer(cfg ServerConfig) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "rtsp"),
		limit:      newLogLimiter(10 * time.Second),
		metrics:    newServerMetrics(),
		publishers: make(map[string]*pushSession),
		outputs:    make(map[string]*output),
		stop:       make(chan struct{}),
	}
	methods := []auth.VerifyMethod{auth.VerifyMethodBasic, auth.VerifyMethodDigestMD5}
	if cfg.BasicOnly {
		methods = []auth.VerifyMethod{auth.VerifyMethodBasic}
	}
	s.rtsp = &gortsplib.Server{
		Handler:        &handler{s: s},
		RTSPAddress:    cfg.Address,
		UDPRTPAddress:  cfg.UDPRTPAddress,
		UDPRTCPAddress: cfg.UDPRTCPAddress,
		ReadTimeout:    cfg.ReadTimeout,
		AuthMethods:    methods,
		Listen:         s.listen,
	}
	return s, nil
}

// listen records the TCP listener's address (Address may use port 0).
func (s *Server) listen(network, address string) (net.Listener, error) {
	l, err := net.Listen(network, address)
	if err == nil {
		s.addrMu.Lock()
		s.addr = l.Addr()
		s.addrMu.Unlock()
	}
	return l, err
}

// Start listens and serves in the background until Close.
func (s *Server) Start() error {
	if err := s.rtsp.Start(); err != nil {
		return fmt.Errorf("rtsp: start: %w", err)
	}
	s.janitorDone = make(chan struct{})
	go s.janitor()
	s.log.Info("listening", "address", s.Addr().String(), "udp", s.cfg.UDPRTPAddress != "")
	return nil
}

// Addr is the RTSP listener's address (valid after Start).
func (s *Server) Addr() net.Addr {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	return s.addr
}

// Close disconnects every client, unpublishes every RTSP publisher, detaches
// every output, and waits for the server's goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	if s.janitorDone != nil {
		<-s.janitorDone
	}
	s.rtsp.Close() // closes sessions: OnSessionClose unpublishes them
	s.mu.Lock()
	outs := s.outputs
	s.outputs = map[string]*output{}
	pubs := s.publishers
	s.publishers = map[string]*pushSession{}
	s.mu.Unlock()
	for _, o := range outs {
		o.close()
	}
	for _, p := range pubs {
		p.close()
	}
	s.log.Info("closed")
}

// janitor drops outputs nobody reads, and outputs whose participant left.
func (s *Server) janitor() {
	defer close(s.janitorDone)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sweepOutputs(time.Now())
		}
	}
}

func (s *Server) sweepOutputs(now time.Time) {
	s.mu.Lock()
	all := make(map[string]*output, len(s.outputs))
	for k, o := range s.outputs {
		all[k] = o
	}
	s.mu.Unlock()
	// Host.Lookup is called without s.mu held.
	for k, o := range all {
		if o.idleFor(now) <= s.cfg.OutputIdle && o.stillPublished(s.cfg.Host) {
			continue
		}
		s.mu.Lock()
		if s.outputs[k] == o {
			delete(s.outputs, k)
		}
		s.mu.Unlock()
		o.close()
	}
}

// refusal maps an error to the RTSP response sent to the client.
func (s *Server) refusal(err error, op string, p string) (*base.Response, error) {
	code := base.StatusInternalServerError
	switch {
	case errors.Is(err, ErrUnauthorized):
		s.metrics.refused.WithLabelValues("unauthorized").Inc()
		if !errors.Is(err, errNoCredentials) {
			s.limit.warn(s.log, "auth:"+p, "refused: wrong credentials", "op", op, "path", p, "error", err)
		}
		// gortsplib adds the challenge, and closes the connection when
		// credentials were given and wrong.
		return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
	case errors.Is(err, ErrBadPath), errors.Is(err, ErrBadSDP):
		code = base.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		code = base.StatusNotFound
	case errors.Is(err, ErrUnsupportedCodec), errors.Is(err, ErrNoTracks):
		code = base.StatusUnsupportedMediaType
	}
	reason := fmt.Sprintf("%d", code)
	s.metrics.refused.WithLabelValues(reason).Inc()
	s.limit.warn(s.log, reason+":"+p, "refused", "op", op, "path", p, "status", int(code), "error", err)
	return &base.Response{StatusCode: code, StatusMessage: statusReason(code, err)}, nil
}

// statusReason is the RTSP reason phrase: the standard text and the cause,
// on one line, so `ffmpeg` shows the person at the encoder what went wrong.
func statusReason(code base.StatusCode, err error) string {
	msg := base.StatusMessages[code] + ": " + err.Error()
	b := []byte(msg)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = ' '
		}
	}
	if len(b) > 300 {
		b = b[:300]
	}
	return string(b)
}
