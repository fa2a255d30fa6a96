package forward

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// LocalTrack binds a DownTrack to a subscriber's pion PeerConnection: it is
// the webrtc.TrackLocal pion negotiates, and it answers the subscriber's RTCP
// (NACKs from the shared cache, PLIs merged upstream).
type LocalTrack struct {
	d        *DownTrack
	id       string
	streamID string
	scr      *scratch
	// recent remembers when each output sequence number (by its low bits)
	// was last retransmitted, so that a receiver repeating its NACKs before
	// the retransmission could arrive does not multiply the traffic.
	recent [nackMemory]nackEntry
}

const (
	// nackMemory is how many recent retransmissions are remembered.
	nackMemory = 256
	// nackRepeatAfter: the same packet is resent at most this often
	// (about a lossy rural link's RTT).
	nackRepeatAfter = 100 * time.Millisecond
	// maxNACKsPerReport bounds the work one RTCP packet can cause.
	maxNACKsPerReport = 128
)

type nackEntry struct {
	seq uint16
	at  int64
}

// NewLocalTrack wraps d as a pion track with the given ids (LiveKit uses the
// track sid as id and "PA_xxx|TR_xxx" as stream id).
func NewLocalTrack(d *DownTrack, id, streamID string) *LocalTrack {
	return &LocalTrack{d: d, id: id, streamID: streamID}
}

// Down returns the wrapped down track.
func (t *LocalTrack) Down() *DownTrack { return t.d }

// ID implements webrtc.TrackLocal.
func (t *LocalTrack) ID() string { return t.id }

// RID implements webrtc.TrackLocal; subscribers get a single encoding.
func (t *LocalTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal.
func (t *LocalTrack) StreamID() string { return t.streamID }

// Kind implements webrtc.TrackLocal.
func (t *LocalTrack) Kind() webrtc.RTPCodecType { return t.d.up.info.Kind }

// Codec is the publisher's codec, for transceiver codec preferences.
func (t *LocalTrack) Codec() webrtc.RTPCodecParameters { return t.d.up.info.Codec }

// Bind implements webrtc.TrackLocal: pick the negotiated codec equal to the
// publisher's (no transcoding) and start forwarding.
func (t *LocalTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	want := t.d.up.info.Codec
	var chosen *webrtc.RTPCodecParameters
	params := ctx.CodecParameters()
	for i := range params {
		c := &params[i]
		if strings.EqualFold(c.MimeType, want.MimeType) && fmtpMatch(want, c.RTPCodecCapability) {
			chosen = c
			break
		}
	}
	if chosen == nil {
		return webrtc.RTPCodecParameters{}, fmt.Errorf("%w: %s", ErrCodec, want.MimeType)
	}
	var rtxPT uint8
	apt := fmt.Sprintf("apt=%d", chosen.PayloadType)
	for _, c := range params {
		if strings.EqualFold(c.MimeType, webrtc.MimeTypeRTX) && c.SDPFmtpLine == apt {
			rtxPT = uint8(c.PayloadType)
		}
	}
	if err := t.d.Bind(ctx.WriteStream(), uint32(ctx.SSRC()), uint8(chosen.PayloadType),
		uint32(ctx.SSRCRetransmission()), rtxPT); err != nil {
		return webrtc.RTPCodecParameters{}, err
	}
	return *chosen, nil
}

// Unbind implements webrtc.TrackLocal.
func (t *LocalTrack) Unbind(webrtc.TrackLocalContext) error {
	t.d.Unbind()
	return nil
}

// ReadRTCP serves the subscriber's feedback until the sender stops. Run it in
// its own goroutine per subscription; it returns when the sender is closed.
func (t *LocalTrack) ReadRTCP(sender *webrtc.RTPSender, onReport func(*rtcp.ReceiverReport)) {
	t.scr = &scratch{}
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				return
			}
			return
		}
		t.handleRTCP(pkts, onReport)
	}
}

func (t *LocalTrack) handleRTCP(pkts []rtcp.Packet, onReport func(*rtcp.ReceiverReport)) {
	m := t.d.up.metrics
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.TransportLayerNack:
			budget := maxNACKsPerReport
			now := time.Now().UnixNano()
			for _, pair := range p.Nacks {
				pair.Range(func(seq uint16) bool {
					m.NACKs.Inc()
					if budget == 0 {
						return false
					}
					budget--
					e := &t.recent[seq%nackMemory]
					if e.seq == seq && e.at != 0 && now-e.at < int64(nackRepeatAfter) {
						return true // just resent; the copy is still on its way
					}
					if t.d.Retransmit(seq, t.scr) {
						e.seq, e.at = seq, now
					}
					return true
				})
			}
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			t.d.RequestKeyframe()
		case *rtcp.ReceiverReport:
			if onReport != nil {
				onReport(p)
			}
		}
	}
}

// fmtpMatch compares the parameters that must agree for a stream to be
// decodable without transcoding (H.264 profile and packetization mode).
func fmtpMatch(a webrtc.RTPCodecParameters, b webrtc.RTPCodecCapability) bool {
	if !strings.EqualFold(a.MimeType, webrtc.MimeTypeH264) {
		return true
	}
	pa, ma := h264Params(a.SDPFmtpLine)
	pb, mb := h264Params(b.SDPFmtpLine)
	// Profile (first 4 hex digits: profile_idc + constraints); the level may differ.
	return ma == mb && len(pa) >= 4 && len(pb) >= 4 && strings.EqualFold(pa[:4], pb[:4])
}

func h264Params(fmtp string) (profile, mode string) {
	mode = "0"
	for _, kv := range strings.Split(fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch strings.ToLower(k) {
		case "profile-level-id":
			profile = v
		case "packetization-mode":
			mode = v
		}
	}
	return profile, mode
}
