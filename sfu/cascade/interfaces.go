package cascade

import "github.com/classcast/classcast/sfu/track"

// The SFU core implements these; the cascade package never imports it.

// Upstream is the parent (origin) side's view of its rooms: it resolves a
// child's subscription into packets. Implemented by the SFU core.
type Upstream interface {
	// TrackInfo describes a published track so the child can publish a
	// mirror of it.
	TrackInfo(room, trackSID string) (track.Info, error)
	// AttachLayer starts delivering the raw packets of one layer of a track
	// (the publisher's per-layer stream, sequence numbers not rewritten, so
	// NACKs can be answered from the per-layer cache) to w until the
	// attachment is closed. w.WriteRTP never blocks: it queues or drops.
	AttachLayer(room, trackSID string, layer int, w track.RTPWriter) (LayerAttachment, error)
}

// LayerAttachment is the parent side's handle on one attached layer.
type LayerAttachment interface {
	// RequestKeyframe asks the publisher for a keyframe of this layer. The
	// link already merges and rate-limits the requests of its children.
	RequestKeyframe()
	// Close detaches. Idempotent.
	Close()
}

// PacketSource answers NACKs on the parent side from the SFU's shared
// per-layer packet cache. Implemented by the SFU core.
type PacketSource interface {
	// ReadPacket copies the raw RTP packet with sequence number seq of the
	// layer into buf and returns its length, or ok=false if it is no longer
	// cached. It must not block and must not allocate.
	ReadPacket(trackSID string, layer int, seq uint16, buf []byte) (n int, ok bool)
}

// EventHandler receives room events (participant and track events, data
// packets) from the other end of a link. Implemented by the SFU core on both
// sides. Called from the link's goroutine: do not block.
type EventHandler interface {
	HandleEvent(fromNode string, ev Event)
}

// EventKind says what an Event is about.
type EventKind string

// Event kinds. The payload format is the core's business (e.g. a marshalled
// livekit.ParticipantInfo or a data packet).
const (
	EventParticipantJoined EventKind = "participant_joined"
	EventParticipantLeft   EventKind = "participant_left"
	EventParticipantUpdate EventKind = "participant_updated"
	EventTrackPublished    EventKind = "track_published"
	EventTrackUnpublished  EventKind = "track_unpublished"
	EventData              EventKind = "data"
)

// Event is a room event carried on the control stream.
type Event struct {
	Room        string    `json:"room"`
	Kind        EventKind `json:"kind"`
	Participant string    `json:"participant,omitempty"` // participant SID
	Track       string    `json:"track,omitempty"`       // track SID
	Payload     []byte    `json:"payload,omitempty"`
}

// EventHandlerFunc adapts a function to EventHandler.
type EventHandlerFunc func(fromNode string, ev Event)

// HandleEvent calls f.
func (f EventHandlerFunc) HandleEvent(fromNode string, ev Event) { f(fromNode, ev) }
