// Package clip cuts chapters out of recorded fMP4 track files without
// transcoding: fragments are read, samples outside the range dropped, and
// the rest re-fragmented with decode times rebased to the clip origin.
package clip

import (
	"fmt"
	"os"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"

	"github.com/classcast/classcast/recorder/fmp4x"
)

// sample is one sample with its absolute decode time (track time scale).
type sample struct {
	dts uint64
	s   *fmp4.Sample
}

// Source is an opened track part file.
type Source struct {
	f     *os.File
	Index *fmp4x.Index
}

// OpenSource scans a part file.
func OpenSource(path string) (*Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("clip: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("clip: %w", err)
	}
	ix, err := fmp4x.Scan(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("clip: scan %s: %w", path, err)
	}
	return &Source{f: f, Index: ix}, nil
}

// Close closes the file.
func (s *Source) Close() error { return s.f.Close() }

func (s *Source) ticks(sec float64) uint64 {
	if sec <= 0 {
		return 0
	}
	return uint64(sec * float64(s.Index.TimeScale))
}

// samples returns the samples of fragment i.
func (s *Source) samples(i int) ([]sample, error) {
	fr := s.Index.Fragments[i]
	b := make([]byte, fr.Size)
	if _, err := s.f.ReadAt(b, fr.Offset); err != nil {
		return nil, fmt.Errorf("clip: read fragment: %w", err)
	}
	var parts fmp4.Parts
	if err := parts.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("clip: parse fragment: %w", err)
	}
	var out []sample
	for _, p := range parts {
		for _, t := range p.Tracks {
			dts := t.BaseTime
			for _, smp := range t.Samples {
				out = append(out, sample{dts: dts, s: smp})
				dts += uint64(smp.Duration)
			}
		}
	}
	return out, nil
}

// SyncAtOrBefore returns the time (seconds) of the last sync sample at or
// before t, or the first sync sample of the file when none precedes t.
func (s *Source) SyncAtOrBefore(t float64) (float64, error) {
	target := s.ticks(t)
	best, found := uint64(0), false
	for i, fr := range s.Index.Fragments {
		if found && fr.BaseTime > target {
			break
		}
		smp, err := s.samples(i)
		if err != nil {
			return 0, err
		}
		for _, x := range smp {
			if x.s.IsNonSyncSample {
				continue
			}
			if x.dts <= target || !found {
				best, found = x.dts, true
			}
		}
	}
	if !found {
		return 0, ErrEmpty
	}
	return float64(best) / float64(s.Index.TimeScale), nil
}

// Cut writes to dst the samples in [from, to) seconds, starting at the last
// sync sample at or before from, with decode times counted from origin
// (seconds; the same for every track of a clip so they stay in sync).
func (s *Source) Cut(dst string, from, to, origin float64) (err error) {
	start, err := s.SyncAtOrBefore(from)
	if err != nil {
		return err
	}
	lo, hi, org := s.ticks(start), s.ticks(to), s.ticks(origin)
	lo = max(lo, org)
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("clip: %w", cerr)
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	init := make([]byte, s.Index.InitSize)
	if _, err = s.f.ReadAt(init, 0); err != nil {
		return fmt.Errorf("clip: read init: %w", err)
	}
	if _, err = out.Write(init); err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	written, seq := 0, uint32(0)
	var buf seekablebuffer.Buffer
	for i, fr := range s.Index.Fragments {
		if fr.BaseTime+fr.Duration <= lo {
			continue
		}
		if fr.BaseTime >= hi {
			break
		}
		smp, err := s.samples(i)
		if err != nil {
			return err
		}
		pt := &fmp4.PartTrack{ID: 1}
		for _, x := range smp {
			if x.dts >= lo && x.dts < hi {
				if len(pt.Samples) == 0 {
					pt.BaseTime = x.dts - org
				}
				pt.Samples = append(pt.Samples, x.s)
			}
		}
		if len(pt.Samples) == 0 {
			continue
		}
		seq++
		buf.Reset()
		part := fmp4.Part{SequenceNumber: seq, Tracks: []*fmp4.PartTrack{pt}}
		if err = part.Marshal(&buf); err != nil {
			return fmt.Errorf("clip: marshal: %w", err)
		}
		if _, err = out.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("clip: %w", err)
		}
		written += len(pt.Samples)
	}
	if written == 0 {
		return ErrEmpty
	}
	return out.Sync()
}
