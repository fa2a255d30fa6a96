package storage

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/classcast/classcast/internal/atomicfile"
)

// PlacementFile is the record, inside an asset directory, of where the
// asset's files live once uploaded. Its absence means "on local disk".
const PlacementFile = "storage.json"

// Placement says where an uploaded asset's files are.
type Placement struct {
	Backend  string    `json:"backend"` // "s3"
	Endpoint string    `json:"endpoint"`
	Bucket   string    `json:"bucket"`
	Prefix   string    `json:"prefix"` // key of a file = Prefix + its name in the asset dir
	Uploaded time.Time `json:"uploaded"`
	// Objects are the uploaded files, by name relative to the asset dir.
	Objects []PlacedObject `json:"objects"`
	// LocalRemoved is set once the local copies of Objects were deleted
	// (the small metadata files the recorder reads are always kept).
	LocalRemoved bool `json:"local_removed,omitempty"`
}

// PlacedObject is one uploaded file.
type PlacedObject struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	ETag string `json:"etag,omitempty"`
}

// Has reports whether name (relative to the asset dir) was uploaded.
func (p *Placement) Has(name string) bool {
	for _, o := range p.Objects {
		if o.Name == name {
			return true
		}
	}
	return false
}

// readPlacement reads an asset directory's record through the local store;
// (nil, nil) when the asset was never uploaded.
func readPlacement(l *Local, dir string) (*Placement, error) {
	o, err := l.Open(dir + "/" + PlacementFile)
	if err != nil {
		return nil, nil // absent (or unreadable): the asset is local
	}
	defer o.Close()
	b, err := io.ReadAll(io.LimitReader(o, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("storage: read placement of %s: %w", dir, err)
	}
	var p Placement
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("storage: decode placement of %s: %w", dir, err)
	}
	return &p, nil
}

// writePlacement replaces dir's record through a synced temporary file and
// a rename: a crash leaves the old record or the new one, never a torn one.
func writePlacement(dir string, p *Placement) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("storage: encode placement: %w", err)
	}
	if err := atomicfile.Write(dir, PlacementFile, b); err != nil {
		return fmt.Errorf("storage: write placement: %w", err)
	}
	return nil
}
