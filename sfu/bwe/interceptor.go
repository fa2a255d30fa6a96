package bwe

import (
	"encoding/binary"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// TransportCCURI is the RTP header extension carrying transport-wide
// sequence numbers.
const TransportCCURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

// InterceptorFactory builds one Estimator per PeerConnection and wires it
// into pion's interceptor chain: sent packets with a transport-wide
// sequence number are recorded, RTCP from the peer is fed in. It does not
// queue, copy or pace packets.
//
// Register it before pion's TWCC header-extension interceptor (which stamps
// the sequence numbers), so that it sits closer to the wire and sees them:
//
//	registry.Add(bwe.NewInterceptorFactory(cfg, onNew))
//	webrtc.ConfigureTWCCHeaderExtensionSender(mediaEngine, registry)
//
// The application must keep reading RTCP from every RTPSender
// (RTPSender.ReadRTCP) for feedback to reach the estimator.
type InterceptorFactory struct {
	cfg   Config
	onNew func(id string, e *Estimator)
}

// NewInterceptorFactory returns a factory; onNew is called with each new
// PeerConnection's estimator.
func NewInterceptorFactory(cfg Config, onNew func(id string, e *Estimator)) *InterceptorFactory {
	return &InterceptorFactory{cfg: cfg, onNew: onNew}
}

// NewInterceptor implements interceptor.Factory.
func (f *InterceptorFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	est := New(f.cfg)
	if f.onNew != nil {
		f.onNew(id, est)
	}
	return &feedInterceptor{est: est}, nil
}

type feedInterceptor struct {
	interceptor.NoOp
	est *Estimator
}

// BindRTCPReader feeds the peer's RTCP to the estimator.
func (i *feedInterceptor) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err != nil {
			return n, a, err
		}
		if a == nil {
			a = make(interceptor.Attributes)
		}
		// Attributes cache the parsed packets for the other interceptors.
		pkts, err := a.GetRTCPPackets(b[:n])
		if err != nil {
			return n, a, err
		}
		// A malformed feedback is the peer's problem, not the stream's.
		_ = i.est.OnRTCP(pkts, time.Now())
		return n, a, nil
	})
}

// BindLocalStream records every packet of a stream that carries
// transport-wide sequence numbers. The per-packet path does not allocate.
func (i *feedInterceptor) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	var extID uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == TransportCCURI {
			extID = uint8(e.ID) //nolint:gosec // extension ids are 1–255
		}
	}
	if extID == 0 {
		return writer
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		n, err := writer.Write(h, payload, a)
		if err != nil {
			return n, err
		}
		if ext := h.GetExtension(extID); len(ext) >= 2 {
			i.est.OnPacketSent(binary.BigEndian.Uint16(ext), h.MarshalSize()+len(payload), time.Now())
		}
		return n, nil
	})
}
