package rtsp

import (
	"context"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/sfu/track"
)

// Host is what the RTSP server and pull sources need from the SFU. It is
// defined here, by its consumer, and kept small so a test fake is a handful
// of function fields.
type Host interface {
	// Publish makes an ingest participant appear in room with the given
	// tracks. identity is the participant identity (the RTSP path's name
	// segment, or the pull source's configured identity); name is its
	// display name. The returned Publication's Producers are in the order of
	// tracks. ctx bounds the call only, not the publication's lifetime.
	Publish(ctx context.Context, room, identity, name string, tracks []TrackSpec) (Publication, error)
	// Lookup returns the published tracks of participant identity in room.
	// It returns an error wrapping ErrNotFound when the room or participant
	// does not exist (the RTSP server answers 404 then).
	Lookup(room, identity string) ([]track.Published, error)
}

// Publication is one ingest participant published through Host.Publish.
type Publication interface {
	// Producers returns one producer per published track, in TrackSpec order.
	Producers() []track.Producer
	// Close unpublishes every track and removes the participant. Idempotent.
	Close()
}

// TrackSpec describes a track an ingest participant publishes.
type TrackSpec struct {
	// Name is the track name shown to LiveKit clients ("camera", "audio",
	// "whiteboard").
	Name string
	Kind webrtc.RTPCodecType
	// Source is CAMERA for the first video, SCREEN_SHARE for a second video
	// (the whiteboard), MICROPHONE for audio.
	Source livekit.TrackSource
	// Codec carries MimeType, ClockRate, Channels and SDPFmtpLine taken from
	// the RTSP SDP; PayloadType is the RTSP source's.
	Codec webrtc.RTPCodecParameters
}

// Access is what a client asks to do with an RTSP path.
type Access int

// Access values.
const (
	AccessPublish Access = iota + 1 // ANNOUNCE/RECORD
	AccessRead                      // DESCRIBE/SETUP/PLAY
)

func (a Access) String() string {
	switch a {
	case AccessPublish:
		return "publish"
	case AccessRead:
		return "read"
	default:
		return "unknown"
	}
}

// Authenticator decides who may publish to or read from a room over RTSP.
// The RTSP user name is free; the password is a LiveKit access token or a
// per-room stream key.
//
// RTSP clients authenticate with Basic (password in clear, checked by
// Authorize) or Digest (only a hash reaches the server). Digest can therefore
// only check secrets the server already knows — stream keys — which is why
// DigestSecrets exists. LiveKit tokens work with Basic only; a deployment that
// uses tokens with ffmpeg (which prefers Digest when offered) sets
// ServerConfig.BasicOnly.
type Authenticator interface {
	// Authorize checks clear-text credentials for room/name. A nil error
	// grants access; any error is answered with 401.
	Authorize(access Access, room, name, user, pass string) error
	// DigestSecrets returns the passwords (stream keys) accepted for room/name
	// with Digest authentication. An empty result disables Digest for it.
	DigestSecrets(access Access, room, name string) []string
}
