package node

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/classcast/classcast/sfu/ingest"
	"github.com/classcast/classcast/sfu/rtsp"
	"github.com/classcast/classcast/signaling"
)

// DefaultRTSPPort is the RTSP port `classcast serve` uses unless told otherwise.
const DefaultRTSPPort = rtsp.DefaultPort

// IngestConfig configures RTSP push/pull/playback, WHIP, WHEP and the
// Ingress service (Config.Ingest, YAML key "ingest").
type IngestConfig struct {
	// RTSPPort is the RTSP (TCP) port: 0 picks a free one, -1 disables
	// RTSP. `classcast serve` sets it to 8554 when neither the file nor
	// --rtsp-port says otherwise; a Config built in code with nil has no RTSP.
	RTSPPort *int `yaml:"rtsp_port"`
	// RTSPUDPPort is the even RTP port of RTSP's UDP transport (RTCP uses
	// the next one): nil means 8000, or a free pair when RTSPPort is 0;
	// 0 picks a free pair; -1 serves interleaved TCP only.
	RTSPUDPPort *int `yaml:"rtsp_udp_port"`
	// RTSPDigest also offers Digest authentication, which only stream keys
	// can pass (a token cannot be checked from its hash). Off by default:
	// ffmpeg picks Digest whenever it is offered, and tokens would then fail.
	RTSPDigest bool `yaml:"rtsp_digest"`
	// StreamKeys maps a room to a key encoders may use as the RTSP password
	// instead of an access token.
	StreamKeys map[string]string `yaml:"stream_keys"`
	// Cameras are RTSP sources pulled from start ({room, identity, name, url}).
	Cameras []rtsp.SourceConfig `yaml:"cameras"`
}

// ingestRuntime is what startIngest built; closeIngest stops it.
type ingestRuntime struct {
	rtsp    *rtsp.Server // nil when RTSP is disabled
	cams    *rtsp.Manager
	whip    *ingest.WHIP
	whep    *ingest.WHEP
	ingress *ingest.IngressService
}

// startIngest starts the RTSP server and the pull sources, registers their
// metrics and mounts WHIP, WHEP, /api/cameras and the Ingress service on the
// node's mux. On failure it releases what Start opened so far.
func (n *Node) startIngest() error {
	rt, err := n.buildIngest()
	if err != nil {
		_ = n.ln.Close()
		n.engine.Close()
		return err
	}
	n.ingest = rt
	return nil
}

func (n *Node) buildIngest() (*ingestRuntime, error) {
	cfg := n.cfg.Ingest
	mux, ok := n.http.Handler.(*http.ServeMux)
	if !ok {
		return nil, fmt.Errorf("%w: ingest needs the node's ServeMux", ErrConfig)
	}
	log := n.log.With("component", "ingest")
	keys := signaling.Keys(n.cfg.Keys)
	host := ingest.NewHost(n.rooms)
	auth := ingest.NewAuth(keys, cfg.StreamKeys)
	rt := &ingestRuntime{cams: rtsp.NewManager(host, log)}
	fail := func(err error) (*ingestRuntime, error) {
		rt.close()
		return nil, err
	}
	if port := derefOr(cfg.RTSPPort, -1); port >= 0 {
		srv, err := n.newRTSPServer(host, auth, port, cfg)
		if err != nil {
			return fail(err)
		}
		rt.rtsp = srv
	}
	for _, c := range cfg.Cameras {
		if _, err := rt.cams.Add(c); err != nil {
			return fail(fmt.Errorf("%w: ingest camera %s/%s: %w", ErrConfig, c.Room, c.Identity, err))
		}
	}
	rt.ingress = ingest.NewIngressService(auth, rt.cams, log)
	wcfg := ingest.WebRTCConfig{Engine: n.engine, Host: host, Auth: auth, Ingresses: rt.ingress, Logger: log}
	var err error
	if rt.whip, err = ingest.NewWHIP(wcfg); err != nil {
		return fail(err)
	}
	if rt.whep, err = ingest.NewWHEP(wcfg); err != nil {
		return fail(err)
	}
	cols := append(rt.whip.Collectors(), rt.whep.Collectors()...)
	cols = append(cols, rt.cams.Collector())
	if rt.rtsp != nil {
		cols = append(cols, rt.rtsp.Collectors()...)
	}
	for _, c := range cols {
		if err := n.registry.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				return fail(fmt.Errorf("ingest metrics: %w", err))
			}
		}
	}
	cams := ingest.NewCameras(auth, rt.cams, log)
	mux.Handle("/whip/", rt.whip)
	mux.Handle("/whep/", rt.whep)
	mux.Handle("/api/cameras", cams)
	mux.Handle("/api/cameras/", cams)
	prefix, h := rt.ingress.Handler()
	mux.Handle(prefix, h)
	return rt, nil
}

func (n *Node) newRTSPServer(host *ingest.Host, auth *ingest.Auth, port int, cfg IngestConfig) (*rtsp.Server, error) {
	scfg := rtsp.ServerConfig{
		Host: host, Auth: auth, Logger: n.log,
		Address:   net.JoinHostPort(n.cfg.Bind, strconv.Itoa(port)),
		BasicOnly: !cfg.RTSPDigest,
	}
	udp := derefOr(cfg.RTSPUDPPort, 8000)
	if cfg.RTSPUDPPort == nil && port == 0 {
		udp = 0
	}
	switch {
	case udp < 0:
		scfg.DisableUDP = true
	case udp == 0:
		p, err := freeUDPPair(n.cfg.Bind)
		if err != nil {
			return nil, err
		}
		udp = p
		fallthrough
	default:
		if udp%2 != 0 || udp > 65534 {
			return nil, fmt.Errorf("%w: ingest.rtsp_udp_port %d must be even (RTCP uses the next port)", ErrConfig, udp)
		}
		scfg.UDPRTPAddress = net.JoinHostPort(n.cfg.Bind, strconv.Itoa(udp))
		scfg.UDPRTCPAddress = net.JoinHostPort(n.cfg.Bind, strconv.Itoa(udp+1))
	}
	srv, err := rtsp.NewServer(scfg)
	if err != nil {
		return nil, fmt.Errorf("%w: rtsp: %w", ErrConfig, err)
	}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	return srv, nil
}

// freeUDPPair finds an even/odd pair of free UDP ports on bind.
func freeUDPPair(bind string) (int, error) {
	for range 100 {
		a, err := net.ListenPacket("udp", net.JoinHostPort(bind, "0"))
		if err != nil {
			return 0, fmt.Errorf("rtsp udp port: %w", err)
		}
		p := a.LocalAddr().(*net.UDPAddr).Port
		if p%2 != 0 || p > 65534 {
			_ = a.Close()
			continue
		}
		b, err := net.ListenPacket("udp", net.JoinHostPort(bind, strconv.Itoa(p+1)))
		_ = a.Close()
		if err != nil {
			continue
		}
		_ = b.Close()
		return p, nil
	}
	return 0, errors.New("rtsp udp port: no free even/odd pair")
}

func derefOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

// closeIngest stops sessions and sources, so their participants leave
// before the rooms close.
func (n *Node) closeIngest() {
	if n.ingest != nil {
		n.ingest.close()
	}
}

func (rt *ingestRuntime) close() {
	if rt.rtsp != nil {
		rt.rtsp.Close()
	}
	if rt.whip != nil {
		rt.whip.Close()
	}
	if rt.whep != nil {
		rt.whep.Close()
	}
	rt.cams.Close()
}

// RTSPAddr is the RTSP listener's address, nil when RTSP is disabled.
func (n *Node) RTSPAddr() *net.TCPAddr {
	if n.ingest == nil || n.ingest.rtsp == nil {
		return nil
	}
	a, _ := n.ingest.rtsp.Addr().(*net.TCPAddr)
	return a
}
