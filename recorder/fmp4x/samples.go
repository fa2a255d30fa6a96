package fmp4x

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Sample is one stored frame of a fragment, located in its file.
type Sample struct {
	Offset   int64  // of the payload, in the file
	Size     uint32 // payload bytes
	DTS      uint64 // decode time, track time scale
	Duration uint32
	Sync     bool
}

// maxSamples bounds a trun's sample count: a trun whose entries carry no
// fields (all from tfhd defaults) could otherwise claim four billion
// samples in a few bytes. The recorder writes at most a few hundred.
const maxSamples = 1 << 16

// maxMoof bounds the moof read for one fragment: a 2 s fragment of 60 fps
// video needs under 2 KiB, so this only refuses garbage.
const maxMoof = 4 << 20

// ReadSamples reads the moof of a fragment found by Scan and returns its
// samples. Remuxers (WebM replay) use it to address payloads in place.
func ReadSamples(r io.ReaderAt, f Fragment) ([]Sample, error) {
	var hdr [8]byte
	if _, err := r.ReadAt(hdr[:], f.Offset); err != nil {
		return nil, fmt.Errorf("fmp4x: read moof header: %w", err)
	}
	size := int64(binary.BigEndian.Uint32(hdr[:4]))
	if string(hdr[4:]) != "moof" || size < 8 || size > maxMoof {
		return nil, fmt.Errorf("%w: no moof at %d", ErrBadBox, f.Offset)
	}
	moof := make([]byte, size)
	if _, err := r.ReadAt(moof, f.Offset); err != nil {
		return nil, fmt.Errorf("fmp4x: read moof: %w", err)
	}
	return parseSamples(moof, f.Offset)
}

// trafDefaults are the tfhd fields a trun falls back on.
type trafDefaults struct {
	base           int64
	duration, size uint32
	flags          uint32
	baseTime       uint64
	trun           []byte
}

// parseSamples reads tfhd, tfdt and trun of the first traf of moof, which
// starts at file offset moofOff.
func parseSamples(moof []byte, moofOff int64) ([]Sample, error) {
	traf := findBox(moof, "moof", "traf")
	if traf < 0 {
		return nil, fmt.Errorf("%w: no traf", ErrBadBox)
	}
	d := trafDefaults{base: moofOff}
	trafEnd := traf + int(binary.BigEndian.Uint32(moof[traf:]))
	for p := traf + 8; p+8 <= trafEnd; {
		size := int(binary.BigEndian.Uint32(moof[p:]))
		if size < 8 || p+size > trafEnd {
			return nil, fmt.Errorf("%w: traf child", ErrBadBox)
		}
		body := moof[p+8 : p+size]
		var err error
		switch string(moof[p+4 : p+8]) {
		case "tfhd":
			err = d.parseTfhd(body)
		case "tfdt":
			if len(body) >= 12 && body[0] == 1 {
				d.baseTime = binary.BigEndian.Uint64(body[4:])
			} else if len(body) >= 8 {
				d.baseTime = uint64(binary.BigEndian.Uint32(body[4:]))
			}
		case "trun":
			if d.trun == nil { // one trun per fragment is what the recorder writes
				d.trun = body
			}
		}
		if err != nil {
			return nil, err
		}
		p += size
	}
	if d.trun == nil {
		return nil, fmt.Errorf("%w: no trun", ErrBadBox)
	}
	return d.samples()
}

func (d *trafDefaults) parseTfhd(b []byte) error {
	if len(b) < 8 {
		return fmt.Errorf("%w: tfhd", ErrBadBox)
	}
	flags := uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	p := 8 // version/flags, track ID
	field := func(n int) (uint64, error) {
		if len(b) < p+n {
			return 0, fmt.Errorf("%w: tfhd fields", ErrBadBox)
		}
		var v uint64
		if n == 8 {
			v = binary.BigEndian.Uint64(b[p:])
		} else {
			v = uint64(binary.BigEndian.Uint32(b[p:]))
		}
		p += n
		return v, nil
	}
	steps := []struct {
		bit uint32
		n   int
		set func(uint64)
	}{
		{0x01, 8, func(v uint64) { d.base = int64(v) }},
		{0x02, 4, func(uint64) {}}, // sample description index
		{0x08, 4, func(v uint64) { d.duration = uint32(v) }},
		{0x10, 4, func(v uint64) { d.size = uint32(v) }},
		{0x20, 4, func(v uint64) { d.flags = uint32(v) }},
	}
	for _, s := range steps {
		if flags&s.bit == 0 {
			continue
		}
		v, err := field(s.n)
		if err != nil {
			return err
		}
		s.set(v)
	}
	return nil
}

// samples walks the trun entries.
func (d *trafDefaults) samples() ([]Sample, error) {
	b := d.trun
	h, err := parseTrunHeader(b)
	if err != nil {
		return nil, err
	}
	flags, n, p, per := h.flags, h.n, h.entries, h.per
	off := d.base
	if flags&0x1 != 0 {
		off += int64(h.dataOffset)
	}
	firstFlags, hasFirst := h.firstFlags, h.hasFirst
	out := make([]Sample, 0, n)
	dts := d.baseTime
	for i := range n {
		s := Sample{Offset: off, DTS: dts, Duration: d.duration, Size: d.size}
		sf := d.flags
		if i == 0 && hasFirst {
			sf = firstFlags
		}
		q := p + i*per
		if flags&0x100 != 0 {
			s.Duration = binary.BigEndian.Uint32(b[q:])
			q += 4
		}
		if flags&0x200 != 0 {
			s.Size = binary.BigEndian.Uint32(b[q:])
			q += 4
		}
		if flags&0x400 != 0 {
			sf = binary.BigEndian.Uint32(b[q:])
		}
		// sample_is_non_sync_sample; with no flags at all, every sample is
		// a sync sample (audio, and the first frame of a video fragment).
		s.Sync = sf&(1<<16) == 0
		out = append(out, s)
		off += int64(s.Size)
		dts += uint64(s.Duration)
	}
	return out, nil
}
