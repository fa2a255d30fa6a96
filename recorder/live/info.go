package live

import (
	"time"

	"github.com/classcast/classcast/recorder"
	"github.com/classcast/classcast/recorder/catalog"
)

// Kind is what a recording selects from its room.
type Kind string

// Kinds of recordings. None of them composes: every selected track is
// stored as its own file, as published.
const (
	KindRoom        Kind = "room"        // every track of the room
	KindParticipant Kind = "participant" // one participant's tracks
	KindTracks      Kind = "tracks"      // the listed tracks
)

// Origin is why a recording runs.
type Origin string

// Origins of recordings.
const (
	OriginConfig   Origin = "config"   // the server's auto-record setting
	OriginMetadata Origin = "metadata" // room metadata {"classcast":{"record":true}}
	OriginAPI      Origin = "api"      // a roomRecord client (Egress API)
)

// Request describes a recording to start.
type Request struct {
	// ID names the recording and its asset; "" picks "EG_…".
	ID       string
	Room     string
	Kind     Kind
	Identity string   // KindParticipant
	Tracks   []string // KindTracks: track SIDs
	// ScreenShare selects a participant's screen share (and its audio)
	// instead of its other sources (LiveKit participant egress semantics).
	ScreenShare bool
	AudioOnly   bool
	VideoOnly   bool
	Origin      Origin
	Meta        recorder.Meta
}

// Status of a recording.
type Status int

// Statuses, in the order a recording goes through them.
const (
	StatusActive   Status = iota // recording
	StatusEnding                 // stopping and finalizing
	StatusComplete               // finalized
	StatusFailed                 // stopped by a fault (what was written is kept) or not finalized
)

func (s Status) String() string {
	return [...]string{"active", "ending", "complete", "failed"}[s]
}

// File is one recorded file.
type File struct {
	Path  string // relative to the data dir, e.g. "EG_x/tracks/TR_a.000.mp4"
	Asset string // relative to the asset dir, e.g. "tracks/TR_a.000.mp4"
	Track string // track SID
	Size  int64
	Start time.Time // first sample
	End   time.Time // end of the last sample
}

// Info is the state of a recording.
type Info struct {
	Request
	RoomSID   string
	Status    Status
	Error     string // why it failed
	StartedAt time.Time
	EndedAt   time.Time // zero while active
	UpdatedAt time.Time
	Asset     *catalog.Asset // once finalized
	Files     []File         // once finalized
}
