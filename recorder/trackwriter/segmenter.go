package trackwriter

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// PartInfo describes one file of a track. A track gets a new part when its
// codec parameters change (H.264 SPS/PPS, VP8/VP9 keyframe size), because an
// fMP4 init segment describes exactly one configuration; every part starts
// with a keyframe and its own init segment.
type PartInfo struct {
	File   string `json:"file"` // base name, in the track directory
	Index  int    `json:"index"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
	// Start and End are in track time-scale units from the recording epoch.
	Start     uint64 `json:"start"`
	End       uint64 `json:"end"`
	TimeScale uint32 `json:"timescale"`
	Fragments int    `json:"fragments"`
	Bytes     int64  `json:"bytes"`
}

// PartName is the file name of part n of a track.
func PartName(trackName string, n int) string { return fmt.Sprintf("%s.%03d.mp4", trackName, n) }

type sampleMeta struct {
	dts  uint64
	off  int
	size int
	sync bool
}

// segmenter writes one part file: the init segment, then one moof+mdat per
// fragment, each written whole and fsynced before the next is started, so a
// crash or write error loses at most the fragment being built.
type segmenter struct {
	f         *os.File
	info      PartInfo
	committed int64 // file size after the last complete fragment
	seq       uint32
	noSync    bool

	arena   []byte
	samples []sampleMeta
	fsamp   []fmp4.Sample
	fptrs   []*fmp4.Sample
	buf     seekablebuffer.Buffer
	part    fmp4.Part
	ptrack  fmp4.PartTrack
}

func (g *segmenter) open(dir string, info PartInfo, init []byte) error {
	f, err := os.OpenFile(filepath.Join(dir, info.File), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	g.f, g.info, g.committed, g.seq = f, info, 0, 0
	if g.arena == nil {
		g.arena = make([]byte, 0, 1<<20)
	}
	g.arena, g.samples = g.arena[:0], g.samples[:0]
	g.ptrack.ID = 1
	g.part.Tracks = []*fmp4.PartTrack{&g.ptrack}
	return g.writeDurable(init)
}

// writeDurable appends b and syncs. On failure the file is cut back to the
// last complete fragment, so nothing already written is damaged.
func (g *segmenter) writeDurable(b []byte) error {
	_, err := g.f.Write(b)
	if err == nil && !g.noSync {
		err = g.f.Sync()
	}
	if err != nil {
		_ = g.f.Truncate(g.committed)
		_, _ = g.f.Seek(g.committed, 0)
		return fmt.Errorf("%w: %s: %w", ErrWrite, g.info.File, err)
	}
	g.committed += int64(len(b))
	g.info.Bytes = g.committed
	return nil
}

func (g *segmenter) duration(next uint64) uint64 {
	if len(g.samples) == 0 {
		return 0
	}
	return next - g.samples[0].dts
}

// add appends one sample; its duration is fixed when the next one comes.
func (g *segmenter) add(dts uint64, data []byte, sync bool) {
	off := len(g.arena)
	g.arena = append(g.arena, data...)
	g.samples = append(g.samples, sampleMeta{dts: dts, off: off, size: len(data), sync: sync})
}

// flush writes the buffered samples as one fragment. end is where the last
// sample ends (the next sample's dts, or dts+nominal duration).
func (g *segmenter) flush(end uint64) error {
	n := len(g.samples)
	if n == 0 {
		return nil
	}
	for len(g.fsamp) < n {
		g.fsamp = append(g.fsamp, fmp4.Sample{})
	}
	g.fptrs = g.fptrs[:0]
	for i, m := range g.samples {
		next := end
		if i+1 < n {
			next = g.samples[i+1].dts
		}
		g.fsamp[i] = fmp4.Sample{
			Duration:        uint32(next - m.dts),
			IsNonSyncSample: !m.sync,
			Payload:         g.arena[m.off : m.off+m.size],
		}
		g.fptrs = append(g.fptrs, &g.fsamp[i])
	}
	g.seq++
	g.part.SequenceNumber = g.seq
	g.ptrack.BaseTime = g.samples[0].dts
	g.ptrack.Samples = g.fptrs
	g.buf.Reset()
	if err := g.part.Marshal(&g.buf); err != nil {
		return fmt.Errorf("%w: marshal fragment: %w", ErrWrite, err)
	}
	if err := g.writeDurable(g.buf.Bytes()); err != nil {
		return err
	}
	if g.info.Fragments == 0 {
		g.info.Start = g.samples[0].dts
	}
	g.info.Fragments++
	g.info.End = end
	g.arena, g.samples = g.arena[:0], g.samples[:0]
	return nil
}

func (g *segmenter) close() error {
	if g.f == nil {
		return nil
	}
	err := g.f.Close()
	g.f = nil
	if err != nil {
		return fmt.Errorf("%w: close: %w", ErrWrite, err)
	}
	return nil
}
