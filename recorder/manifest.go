package recorder

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
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
	tmp := filepath.Join(dir, "."+name+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("recorder: write %s: %w", name, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("recorder: write %s: %w", name, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("recorder: sync dir: %w", err)
	}
	defer d.Close()
	_ = d.Sync() // best effort: some filesystems refuse directory fsync
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
