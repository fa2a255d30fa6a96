package client

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"
)

// payloadKind picks the payload inspector for a track's codec.
type payloadKind uint8

const (
	payloadOther payloadKind = iota
	payloadVP8
	payloadH264
	payloadOpus
)

// RemoteTrack is a subscribed track: media arriving on the subscriber connection for track SID of
// participant ParticipantSID (from the msid "PA_xxx|TR_xxx" or the offer's mid_to_track_id).
type RemoteTrack struct {
	room *Room
	// SID is the track's server id (TR_…).
	SID string
	// ParticipantSID and ParticipantIdentity identify the publisher.
	ParticipantSID      string
	ParticipantIdentity string
	// Kind is audio or video.
	Kind webrtc.RTPCodecType
	// Track is pion's remote track: read RTP from it (or use ReadPacket to keep Stats current).
	Track *webrtc.TrackRemote
	// Receiver is the pion receiver of the track.
	Receiver *webrtc.RTPReceiver
	// Mid is the subscriber transceiver's mid.
	Mid string

	payload payloadKind
	created time.Time
	stats   trackAtomics
	ended   atomic.Bool

	mu   sync.Mutex
	info *livekit.TrackInfo
}

// Codec is the negotiated codec (mime type, clock rate, fmtp).
func (t *RemoteTrack) Codec() webrtc.RTPCodecParameters { return t.Track.Codec() }

// Info returns a copy of the publisher's TrackInfo, nil if the participant was never announced.
func (t *RemoteTrack) Info() *livekit.TrackInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.info == nil {
		return nil
	}
	return proto.Clone(t.info).(*livekit.TrackInfo)
}

// Ended reports whether the track was unsubscribed, unpublished or its connection closed.
func (t *RemoteTrack) Ended() bool { return t.ended.Load() }

func (t *RemoteTrack) markEnded() { t.ended.Store(true) }

// ReadPacket reads one RTP packet into buf, unmarshals it into pkt (both reused by the caller, so
// nothing is allocated per packet) and updates Stats. It returns the packet's size.
func (t *RemoteTrack) ReadPacket(pkt *rtp.Packet, buf []byte) (int, error) {
	n, _, err := t.Track.Read(buf)
	if err != nil {
		return 0, err
	}
	if err := pkt.Unmarshal(buf[:n]); err != nil {
		return n, fmt.Errorf("%w: %w", ErrBadRTP, err)
	}
	t.Observe(pkt, n, time.Now())
	return n, nil
}

// RequestKeyframe sends an RTCP PLI for the track on the subscriber connection.
func (t *RemoteTrack) RequestKeyframe() error {
	_, sub := t.room.transports()
	if sub == nil {
		return ErrClosed
	}
	return sub.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.Track.SSRC())}})
}

// SetSettings is Room.UpdateTrackSettings for this track.
func (t *RemoteTrack) SetSettings(s TrackSettings) error { return t.room.UpdateTrackSettings(t.SID, s) }

// drain reads the track until it ends (Options.AutoDrain), keeping stats and calling OnRTP.
func (t *RemoteTrack) drain() {
	defer t.room.wg.Done()
	buf := make([]byte, 1500)
	pkt := &rtp.Packet{}
	onRTP := t.room.opts.Callbacks.OnRTP
	for {
		if _, err := t.ReadPacket(pkt, buf); err != nil {
			if errors.Is(err, ErrBadRTP) {
				continue
			}
			t.room.trackEnded(t)
			return
		}
		if onRTP != nil {
			onRTP(t, pkt)
		}
	}
}

func payloadKindOf(mime string) payloadKind {
	switch strings.ToLower(mime) {
	case strings.ToLower(webrtc.MimeTypeVP8):
		return payloadVP8
	case strings.ToLower(webrtc.MimeTypeH264):
		return payloadH264
	case strings.ToLower(webrtc.MimeTypeOpus):
		return payloadOpus
	default:
		return payloadOther
	}
}

// parseTrackIDs reads the participant and track sids from a remote track's msid.
func parseTrackIDs(streamID, trackID string) (participantSID, trackSID string) {
	if strings.HasPrefix(trackID, "TR_") {
		trackSID = trackID
	}
	if p, tr, ok := strings.Cut(streamID, "|"); ok {
		participantSID = p
		if trackSID == "" && strings.HasPrefix(tr, "TR_") {
			trackSID = tr
		}
	} else if strings.HasPrefix(streamID, "PA_") {
		participantSID = streamID
	}
	return participantSID, trackSID
}
