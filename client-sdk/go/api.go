package client

import (
	"fmt"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// DefaultNACKResponderSize is the per-published-stream retransmission buffer (packets). Pion's own
// default is 1024 here but 8192 in older releases; 256 covers ~0.5 s of 720p video, plenty on a LAN.
const DefaultNACKResponderSize = 256

// APIConfig shapes the pion API a room's peer connections are built from. The zero value is valid.
type APIConfig struct {
	// SettingEngine is copied into the API. It defaults to a zero SettingEngine. Tests on loopback want
	// SetIncludeLoopbackCandidate(true) and SetNetworkTypes(UDP4); vnet tests call SetNet.
	SettingEngine *webrtc.SettingEngine
	// ReceiveOnly trims the interceptors to what a pure subscriber needs: NACK generator and receiver
	// reports. No NACK responder buffers, no sender reports, no TWCC header extension on send.
	// Rooms built on it can still publish, but without retransmissions. It defaults to false.
	ReceiveOnly bool
	// NoCongestionFeedback stops the room from sending TWCC feedback for what it receives (browsers
	// send it; the SFU's bandwidth estimation runs on it). It defaults to false.
	NoCongestionFeedback bool
	// NACKResponderSize is the retransmission buffer per published stream, a power of two.
	// It defaults to DefaultNACKResponderSize.
	NACKResponderSize uint16
}

// API is a shareable pion API. One API may serve any number of rooms at once.
type API struct {
	api    *webrtc.API
	cfg    APIConfig
	tagger *streamTagger
}

// NewAPI builds an API: default codecs (Opus, VP8, VP9, H.264, AV1 with RTX), the simulcast header
// extensions (mid, rid, repaired-rid) and an explicitly composed interceptor chain (see APIConfig).
func NewAPI(cfg APIConfig) (*API, error) {
	if cfg.NACKResponderSize == 0 {
		cfg.NACKResponderSize = DefaultNACKResponderSize
	}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("client: register codecs: %w", err)
	}
	reg := &interceptor.Registry{}
	if err := registerInterceptors(me, reg, cfg); err != nil {
		return nil, err
	}
	// Added last so it is outermost: the NACK responder stores packets already tagged.
	tagger := &streamTagger{}
	reg.Add(tagger)
	opts := []func(*webrtc.API){webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg)}
	if cfg.SettingEngine != nil {
		opts = append(opts, webrtc.WithSettingEngine(*cfg.SettingEngine))
	}
	return &API{api: webrtc.NewAPI(opts...), cfg: cfg, tagger: tagger}, nil
}

// registerInterceptors is the one place the interceptor chain is composed (instead of pion's
// RegisterDefaultInterceptors, which adds a stats interceptor and an 8192-slot NACK responder per stream).
func registerInterceptors(me *webrtc.MediaEngine, reg *interceptor.Registry, cfg APIConfig) error {
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return fmt.Errorf("client: nack generator: %w", err)
	}
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	reg.Add(gen)
	recv, err := report.NewReceiverInterceptor()
	if err != nil {
		return fmt.Errorf("client: receiver reports: %w", err)
	}
	reg.Add(recv)
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return fmt.Errorf("client: simulcast extensions: %w", err)
	}
	// Audio levels let the SFU detect active speakers, as browsers do.
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI},
		webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("client: audio level extension: %w", err)
	}
	// Like a browser, send TWCC feedback for what we receive: the SFU's
	// send-side bandwidth estimation (and so its layer choice) runs on it.
	if !cfg.NoCongestionFeedback {
		if err := webrtc.ConfigureTWCCSender(me, reg); err != nil {
			return fmt.Errorf("client: twcc feedback: %w", err)
		}
	}
	if cfg.ReceiveOnly {
		return nil
	}
	resp, err := nack.NewResponderInterceptor(nack.ResponderSize(cfg.NACKResponderSize))
	if err != nil {
		return fmt.Errorf("client: nack responder: %w", err)
	}
	reg.Add(resp)
	send, err := report.NewSenderInterceptor()
	if err != nil {
		return fmt.Errorf("client: sender reports: %w", err)
	}
	reg.Add(send)
	// The SFU estimates our uplink from TWCC feedback, as it does for browsers.
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(me, reg); err != nil {
		return fmt.Errorf("client: twcc: %w", err)
	}
	return nil
}
