package rtc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// errNilHeader: pion's interceptor refuses a nil header the same way.
var errNilHeader = errors.New("rtc: nil RTP header")

// twccSeqFactory builds twccSeqInterceptor, one per subscriber connection.
//
// It replaces pion's twcc.HeaderExtensionInterceptor on the send side, which
// allocates for every packet sent: it marshals each transport-wide sequence
// number into a fresh 2-byte slice (rtp.TransportCCExtension.Marshal) that
// the header then points to. On an SFU that is one allocation per packet
// per subscriber. This one writes the number into a buffer owned by the
// stream instead (see BenchmarkTWCCHeaderExtension).
type twccSeqFactory struct{}

// NewInterceptor implements interceptor.Factory.
func (twccSeqFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &twccSeqInterceptor{}, nil
}

// twccSeqInterceptor numbers every RTP packet of one connection with the
// transport-wide sequence number header extension, as pion's does.
type twccSeqInterceptor struct {
	interceptor.NoOp
	// next is shared by all streams of the connection: the numbering is
	// transport-wide.
	next atomic.Uint32
}

// BindLocalStream implements interceptor.Interceptor.
func (t *twccSeqInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var id uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			id = uint8(e.ID) //nolint:gosec // negotiated ids are 1..14 (one-byte form)
			break
		}
	}
	if id == 0 {
		return w
	}
	return &twccSeqWriter{conn: t, id: id, next: w}
}

// twccSeqWriter is one stream's writer.
type twccSeqWriter struct {
	conn *twccSeqInterceptor
	id   uint8
	next interceptor.RTPWriter

	// mu is held from numbering to the end of the write below: the header
	// points into buf until the packet is marshalled downstream. Writes of
	// one stream come from one forwarding goroutine, plus the odd
	// retransmission, so it is practically uncontended.
	mu  sync.Mutex
	buf [2]byte
}

// Write implements interceptor.RTPWriter.
func (w *twccSeqWriter) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	if h == nil {
		return 0, errNilHeader
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	seq := uint16(w.conn.next.Add(1) - 1) //nolint:gosec // the extension is 16 bits and wraps
	binary.BigEndian.PutUint16(w.buf[:], seq)
	if err := h.SetExtension(w.id, w.buf[:]); err != nil {
		return 0, fmt.Errorf("twcc extension: %w", err)
	}
	return w.next.Write(h, payload, a)
}

// configureTWCCSeq is webrtc.ConfigureTWCCHeaderExtensionSender with the
// interceptor above.
func configureTWCCSeq(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return fmt.Errorf("register transport-cc: %w", err)
		}
	}
	ir.Add(twccSeqFactory{})
	return nil
}
