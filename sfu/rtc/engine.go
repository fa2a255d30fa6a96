// Package rtc builds the pion WebRTC stack the SFU runs on: one UDP port for
// all media (ICE UDP mux), an ICE-TCP fallback port for schools that block
// UDP, the codec table, and two trimmed interceptor chains — one for
// publisher connections (we receive), one for subscriber connections (we
// send).
package rtc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/sfu/bwe"
)

// Config selects where media flows.
type Config struct {
	// BindAddr is the IP media ports listen on. It defaults to 127.0.0.1.
	BindAddr string
	// UDPPort is the single UDP port for all media (0 picks a free one).
	UDPPort int
	// TCPPort is the ICE-TCP port (0 picks a free one, -1 disables ICE-TCP).
	TCPPort int
	// NAT1To1IPs are public addresses to advertise instead of local ones.
	NAT1To1IPs []string
	// AllowLoopback advertises loopback candidates (development, tests).
	AllowLoopback bool
	// Logger receives connection-level events; nothing per packet.
	Logger *slog.Logger
}

// initialEstimate is a new subscriber connection's bandwidth estimate before
// any feedback: enough for audio, the whiteboard and a medium camera layer,
// low enough that a 300 kbit/s rural link is found within seconds.
const initialEstimate = 800_000

// Engine owns the shared media sockets and the two pion APIs.
type Engine struct {
	udp       *net.UDPConn
	tcp       net.Listener
	udpMux    ice.UDPMux
	tcpMux    ice.TCPMux
	publisher *webrtc.API
	subscribe *webrtc.API
	log       *slog.Logger
	// estimators holds each new subscriber connection's bandwidth
	// estimator (keyed by pion's PeerConnection id) until it is claimed.
	estimators sync.Map
}

// NewEngine opens the media ports and builds the APIs.
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.BindAddr == "" {
		cfg.BindAddr = "127.0.0.1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{log: cfg.Logger}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(cfg.BindAddr), Port: cfg.UDPPort})
	if err != nil {
		return nil, fmt.Errorf("%w: udp %s:%d: %w", ErrListen, cfg.BindAddr, cfg.UDPPort, err)
	}
	// Media bursts (keyframes to hundreds of subscribers) overflow the
	// default socket buffers long before the CPU is busy.
	_ = udp.SetReadBuffer(4 << 20)
	_ = udp.SetWriteBuffer(4 << 20)
	e.udp = udp
	e.udpMux = webrtc.NewICEUDPMux(slogFactory{cfg.Logger}.NewLogger("udpmux"), udp)
	if cfg.TCPPort >= 0 {
		tcp, err := net.Listen("tcp", net.JoinHostPort(cfg.BindAddr, strconv.Itoa(cfg.TCPPort)))
		if err != nil {
			_ = e.udpMux.Close()
			return nil, fmt.Errorf("%w: tcp %s:%d: %w", ErrListen, cfg.BindAddr, cfg.TCPPort, err)
		}
		e.tcp = tcp
		e.tcpMux = webrtc.NewICETCPMux(slogFactory{cfg.Logger}.NewLogger("tcpmux"), tcp, 64)
	}
	se := e.settingEngine(cfg)
	if e.publisher, err = newPublisherAPI(se); err != nil {
		e.Close()
		return nil, err
	}
	if e.subscribe, err = newSubscriberAPI(se, bwe.NewInterceptorFactory(bwe.Config{Logger: cfg.Logger, InitialBitrate: initialEstimate},
		func(id string, est *bwe.Estimator) { e.estimators.Store(id, est) })); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Engine) settingEngine(cfg Config) webrtc.SettingEngine {
	var se webrtc.SettingEngine
	se.LoggerFactory = slogFactory{cfg.Logger}
	se.SetICEUDPMux(e.udpMux)
	types := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if e.tcpMux != nil {
		se.SetICETCPMux(e.tcpMux)
		types = append(types, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(types)
	se.SetIncludeLoopbackCandidate(cfg.AllowLoopback)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if len(cfg.NAT1To1IPs) > 0 {
		se.SetNAT1To1IPs(cfg.NAT1To1IPs, webrtc.ICECandidateTypeHost)
	}
	// Detect a dead classroom quickly enough for a reconnect within seconds,
	// but tolerate the jitter of a lossy rural link.
	se.SetICETimeouts(5*time.Second, 12*time.Second, 2*time.Second)
	se.SetLite(false)
	return se
}

// newPublisherAPI is the receive side: NACK generation toward the publisher,
// receiver reports, and TWCC feedback so the browser's own congestion control
// ramps its simulcast layers up.
func newPublisherAPI(se webrtc.SettingEngine) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := registerCodecs(m); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return nil, fmt.Errorf("simulcast extensions: %w", err)
	}
	ir := &interceptor.Registry{}
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return nil, fmt.Errorf("nack generator: %w", err)
	}
	ir.Add(gen)
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return nil, fmt.Errorf("receiver reports: %w", err)
	}
	ir.Add(rr)
	if err := webrtc.ConfigureTWCCSender(m, ir); err != nil {
		return nil, fmt.Errorf("twcc feedback: %w", err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se)), nil
}

// newSubscriberAPI is the send side. Deliberately no NACK responder: pion's
// keeps 8192 packets per subscriber stream; the SFU answers NACKs from the one
// shared per-layer cache instead. Sender reports let receivers sync audio and
// video; the TWCC sequence extension feeds send-side bandwidth estimation.
func newSubscriberAPI(se webrtc.SettingEngine, est interceptor.Factory) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := registerCodecs(m); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	// The estimator reads TWCC feedback and the transport-wide sequence
	// numbers stamped by the header-extension interceptor below.
	ir.Add(est)
	sr, err := report.NewSenderInterceptor()
	if err != nil {
		return nil, fmt.Errorf("sender reports: %w", err)
	}
	ir.Add(sr)
	if err := configureTWCCSeq(m, ir); err != nil { // pion's allocates per packet (twcc.go)
		return nil, fmt.Errorf("twcc header extension: %w", err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se)), nil
}

// NewPublisherPC creates a connection that receives a participant's media.
func (e *Engine) NewPublisherPC(cfg webrtc.Configuration) (*webrtc.PeerConnection, error) {
	return e.publisher.NewPeerConnection(cfg)
}

// NewSubscriberPC creates a connection that sends media to a participant,
// with the send-side bandwidth estimator of that connection.
func (e *Engine) NewSubscriberPC(cfg webrtc.Configuration) (*webrtc.PeerConnection, *bwe.Estimator, error) {
	pc, err := e.subscribe.NewPeerConnection(cfg)
	if err != nil {
		return nil, nil, err
	}
	v, _ := e.estimators.LoadAndDelete(pc.ID())
	est, _ := v.(*bwe.Estimator)
	if est == nil {
		est = bwe.New(bwe.Config{Logger: e.log})
	}
	return pc, est, nil
}

// UDPAddr is the media UDP address.
func (e *Engine) UDPAddr() *net.UDPAddr { return e.udp.LocalAddr().(*net.UDPAddr) }

// TCPAddr is the ICE-TCP address, or nil when disabled.
func (e *Engine) TCPAddr() *net.TCPAddr {
	if e.tcp == nil {
		return nil
	}
	return e.tcp.Addr().(*net.TCPAddr)
}

// Close releases the media ports.
func (e *Engine) Close() {
	var errs []error
	if e.udpMux != nil {
		errs = append(errs, e.udpMux.Close())
	}
	if e.tcpMux != nil {
		errs = append(errs, e.tcpMux.Close())
	}
	if err := errors.Join(errs...); err != nil {
		e.log.Debug("media ports closed with error", "err", err)
	}
}
