// Package catalog is the micro-class asset library: one row per recording
// in an embedded SQLite database (modernc.org/sqlite, pure Go), searchable by
// course, teacher, date range, tag and free text (FTS5).
package catalog

import "time"

// Status of an asset.
const (
	StatusComplete   = "complete"   // stopped normally
	StatusIncomplete = "incomplete" // stopped by a fault; holds what was kept
	StatusRecovered  = "recovered"  // cut off by a crash, finalized by Recover
)

// Chapter is a named span of a recording, cut as a clip.
type Chapter struct {
	Title string  `json:"title"`
	Start float64 `json:"start"` // seconds from the recording start
	End   float64 `json:"end"`
	// Clips are the chapter's per-track files, relative to the asset dir.
	Clips []string `json:"clips,omitempty"`
}

// Track is one recorded track of an asset.
type Track struct {
	Name        string   `json:"name"` // file base name (track SID)
	SID         string   `json:"sid,omitempty"`
	Participant string   `json:"participant,omitempty"`
	Kind        string   `json:"kind"` // "video" or "audio"
	Codec       string   `json:"codec"`
	Width       int      `json:"width,omitempty"`
	Height      int      `json:"height,omitempty"`
	Files       []string `json:"files"` // parts, relative to the asset dir
	Start       float64  `json:"start"` // seconds on the recording timeline
	End         float64  `json:"end"`
}

// Asset is a finalized recording.
type Asset struct {
	ID        string        `json:"id"`
	Room      string        `json:"room,omitempty"`
	Course    string        `json:"course,omitempty"`
	Title     string        `json:"title,omitempty"`
	Teacher   string        `json:"teacher,omitempty"`
	Classroom string        `json:"classroom,omitempty"`
	Date      time.Time     `json:"date"`
	Duration  time.Duration `json:"duration"`
	Status    string        `json:"status"`
	Reason    string        `json:"reason,omitempty"`
	Tags      []string      `json:"tags,omitempty"`
	Chapters  []Chapter     `json:"chapters,omitempty"`
	Tracks    []Track       `json:"tracks,omitempty"`
	// Dir is the asset directory relative to the storage root; Poster and
	// Timeline are relative to Dir ("" when absent).
	Dir      string `json:"dir"`
	Poster   string `json:"poster,omitempty"`
	Timeline string `json:"timeline,omitempty"`
}

// Query selects assets. Empty fields do not filter.
type Query struct {
	Course  string
	Teacher string
	Tag     string
	From    time.Time // Date >= From
	To      time.Time // Date < To
	Text    string    // words matched against title, course, teacher, classroom, tags, chapters
	Limit   int       // defaults to 100
	Offset  int
}
