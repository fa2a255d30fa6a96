package recorder

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/classcast/classcast/internal/atomicfile"
)

// File names inside a recording directory.
const (
	manifestFile = "manifest.json" // written at start and on each new track
	finalFile    = "final.json"    // the finalize marker; absent after a crash
	timelineFile = "timeline.jsonl"
	tracksDir    = "tracks"
	clipsDir     = "clips"
	posterFile   = "poster.jpg"
)

// Meta is the descriptive metadata of a recording (and its asset).
type Meta struct {
	Course    string   `json:"course,omitempty"`
	Title     string   `json:"title,omitempty"`
	Teacher   string   `json:"teacher,omitempty"`
	Classroom string   `json:"classroom,omitempty"`
	Tags      []string `json:"tags,omitempty"`
}

type manifestTrack struct {
	Name        string `json:"name"`
	SID         string `json:"sid"`
	Participant string `json:"participant,omitempty"`
	Kind        string `json:"kind"`
	Codec       string `json:"codec"`
}

type manifest struct {
	ID     string          `json:"id"`
	Room   string          `json:"room,omitempty"`
	Meta   Meta            `json:"meta"`
	Epoch  time.Time       `json:"epoch"`
	Tracks []manifestTrack `json:"tracks"`
}

type finalMarker struct {
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Finalized time.Time `json:"finalized"`
}

// writeJSONAtomic writes v to dir/name through a synced temporary file and
// a rename, so a reader sees the old or the new content, never a torn one.
func writeJSONAtomic(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("recorder: encode %s: %w", name, err)
	}
	if err := atomicfile.Write(dir, name, b); err != nil {
		return fmt.Errorf("recorder: write %s: %w", name, err)
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("recorder: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("recorder: decode %s: %w", filepath.Base(path), err)
	}
	return nil
}
