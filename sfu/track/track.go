// Package track holds the narrow interfaces at the seams of the SFU: what a
// published track offers to whoever consumes it (WebRTC subscribers, the
// recorder, RTSP output, cascade links) and what a producer that is not a
// WebRTC publisher (RTSP camera, cascade parent) writes into.
//
// The recorder, RTSP output and cascade links are "just another subscriber":
// they attach an RTPWriter to a published track and receive one continuous
// RTP stream (sequence numbers and timestamps rewritten across simulcast
// layer switches), exactly like a WebRTC down track does.
package track

import (
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Info describes a published track to its consumers.
type Info struct {
	SID                 string // "TR_…"
	Name                string
	ParticipantSID      string // "PA_…"
	ParticipantIdentity string
	Kind                webrtc.RTPCodecType
	Source              livekit.TrackSource
	// Codec is the codec the publisher sends (MimeType, ClockRate, Channels,
	// SDPFmtpLine). PayloadType is the publisher's; writers set their own.
	Codec webrtc.RTPCodecParameters
	// Simulcast is true when the track has several spatial layers.
	Simulcast bool
	// Layers lists the spatial layers the publisher announced, lowest first.
	Layers []*livekit.VideoLayer
}

// RTPWriter is where an attached consumer's packets go. Its signature matches
// pion's webrtc.TrackLocalWriter so that a WebRTC down track writes straight
// into the peer connection.
//
// WriteRTP is called from the SFU's forwarding goroutines. It must not block
// for long (queue or drop instead) and must not keep header or payload after
// it returns: copy what you keep.
type RTPWriter interface {
	WriteRTP(header *rtp.Header, payload []byte) (int, error)
}

// SenderReportWriter is optionally implemented by an RTPWriter that wants the
// publisher's wall clock (from RTCP sender reports), expressed in the
// attached stream's own (rewritten) RTP timestamp space. The recorder uses it
// to put all tracks of a lesson on one clock.
type SenderReportWriter interface {
	WriteSenderReport(wallClock time.Time, rtpTimestamp uint32)
}

// AttachOptions tune an attachment.
type AttachOptions struct {
	// Quality is the simulcast layer wanted (the zero value is
	// livekit.VideoQuality_LOW: recorders and cascade links pass HIGH); the
	// consumer gets the best layer at or below it that is being received.
	Quality livekit.VideoQuality
}

// Attachment is the consumer's handle on an attached track.
type Attachment interface {
	// RequestKeyframe asks the publisher for a keyframe (merged and
	// rate-limited with every other request for the same track).
	RequestKeyframe()
	// SetQuality changes the simulcast layer wanted.
	SetQuality(q livekit.VideoQuality)
	// Close detaches the consumer. It is idempotent.
	Close()
}

// Published is a track a consumer can attach to.
type Published interface {
	Info() Info
	Attach(w RTPWriter, opts AttachOptions) (Attachment, error)
}

// Producer is what a non-WebRTC source (RTSP camera, cascade parent) writes
// into: one published track, one RTP stream per simulcast layer.
type Producer interface {
	// WriteRTP feeds one packet of the given layer (0 for non-simulcast
	// tracks). The SFU copies what it keeps; p may be reused after return.
	WriteRTP(layer int, p *rtp.Packet) error
	// OnKeyframeRequest sets the function called (merged and rate-limited)
	// when a consumer needs a keyframe of a layer.
	OnKeyframeRequest(f func(layer int))
	// Close unpublishes the track.
	Close()
}
