package fmp4x

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Fragment is one moof+mdat pair of a track file.
type Fragment struct {
	Offset   int64  // of the moof box
	Size     int64  // moof + mdat
	BaseTime uint64 // tfdt, in the track time scale
	Duration uint64 // sum of sample durations
	Samples  int
	// StartsWithSync is true when the first sample is a sync sample, so the
	// fragment can be decoded on its own (an independent HLS segment).
	StartsWithSync bool
}

// Index is what Scan found in a file.
type Index struct {
	InitSize  int64 // ftyp + moov
	TimeScale uint32
	Fragments []Fragment
	// ValidEnd is the end of the last complete fragment; anything after it
	// is a torn write (Torn is then true).
	ValidEnd int64
	Torn     bool
}

// End returns the time (track time scale) at which the last fragment ends.
func (ix *Index) End() uint64 {
	if len(ix.Fragments) == 0 {
		return 0
	}
	f := ix.Fragments[len(ix.Fragments)-1]
	return f.BaseTime + f.Duration
}

type boxHeader struct {
	size int64
	typ  string
}

func readHeader(r io.ReaderAt, off, limit int64) (boxHeader, bool) {
	var b [8]byte
	if off+8 > limit {
		return boxHeader{}, false
	}
	if _, err := r.ReadAt(b[:], off); err != nil {
		return boxHeader{}, false
	}
	size := int64(binary.BigEndian.Uint32(b[:4]))
	if size < 8 || off+size > limit {
		return boxHeader{}, false
	}
	return boxHeader{size: size, typ: string(b[4:8])}, true
}

// Scan walks the top-level boxes of a track file of the given size. It never
// fails on a torn tail: that is reported through Torn/ValidEnd.
func Scan(r io.ReaderAt, size int64) (*Index, error) {
	ix := &Index{}
	var off int64
	for off < size {
		h, ok := readHeader(r, off, size)
		if !ok {
			break
		}
		switch h.typ {
		case "ftyp":
		case "moov":
			moov := make([]byte, h.size)
			if _, err := r.ReadAt(moov, off); err != nil {
				return nil, fmt.Errorf("fmp4x: read moov: %w", err)
			}
			if p := findBox(moov, "moov", "trak", "mdia", "mdhd"); p >= 0 && p+32 <= len(moov) {
				ix.TimeScale = mdhdTimeScale(moov[p:])
			}
			ix.InitSize = off + h.size
			ix.ValidEnd = ix.InitSize
		case "moof":
			if ix.InitSize == 0 {
				return nil, ErrNoInit
			}
			frag, ok := scanFragment(r, off, h.size, size)
			if !ok {
				ix.Torn = true
				return ix, nil
			}
			ix.Fragments = append(ix.Fragments, frag)
			ix.ValidEnd = off + frag.Size
			off += frag.Size
			continue
		}
		off += h.size
	}
	if ix.InitSize == 0 {
		return nil, ErrNoInit
	}
	ix.Torn = ix.ValidEnd < size
	return ix, nil
}

func mdhdTimeScale(b []byte) uint32 {
	if b[8] == 1 { // version 1: 64-bit creation and modification times
		return binary.BigEndian.Uint32(b[28:])
	}
	return binary.BigEndian.Uint32(b[20:])
}

// scanFragment reads a moof and checks that a complete mdat follows it.
func scanFragment(r io.ReaderAt, off, moofSize, fileSize int64) (Fragment, bool) {
	mdat, ok := readHeader(r, off+moofSize, fileSize)
	if !ok || mdat.typ != "mdat" {
		return Fragment{}, false
	}
	moof := make([]byte, moofSize)
	if _, err := r.ReadAt(moof, off); err != nil {
		return Fragment{}, false
	}
	f, err := ParseMoof(moof)
	if err != nil {
		return Fragment{}, false
	}
	f.Offset = off
	f.Size = moofSize + mdat.size
	return f, true
}

// ParseMoof reads tfdt and trun of the first traf of a moof box.
func ParseMoof(moof []byte) (Fragment, error) {
	var f Fragment
	traf := findBox(moof, "moof", "traf")
	if traf < 0 {
		return f, fmt.Errorf("%w: no traf", ErrBadBox)
	}
	trafEnd := traf + int(binary.BigEndian.Uint32(moof[traf:]))
	for p := traf + 8; p+8 <= trafEnd; {
		size := int(binary.BigEndian.Uint32(moof[p:]))
		if size < 8 || p+size > trafEnd {
			return f, fmt.Errorf("%w: traf child", ErrBadBox)
		}
		body := moof[p+8 : p+size]
		switch string(moof[p+4 : p+8]) {
		case "tfdt":
			if len(body) >= 12 && body[0] == 1 {
				f.BaseTime = binary.BigEndian.Uint64(body[4:])
			} else if len(body) >= 8 {
				f.BaseTime = uint64(binary.BigEndian.Uint32(body[4:]))
			}
		case "trun":
			if err := parseTrun(body, &f); err != nil {
				return f, err
			}
		}
		p += size
	}
	return f, nil
}

// trunHeader is a trun box's fixed part, checked against the box length:
// the flags, the sample count, the optional data offset and first-sample
// flags, and where the per-sample entries start and how long each is.
type trunHeader struct {
	flags      uint32
	n          int
	dataOffset int32 // valid with flags&0x1
	firstFlags uint32
	hasFirst   bool
	entries    int // offset of the first entry in the box
	per        int // bytes per entry
}

func parseTrunHeader(b []byte) (trunHeader, error) {
	if len(b) < 8 {
		return trunHeader{}, fmt.Errorf("%w: trun", ErrBadBox)
	}
	h := trunHeader{flags: uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), n: int(binary.BigEndian.Uint32(b[4:]))}
	p := 8
	if h.flags&0x1 != 0 {
		if len(b) < p+4 {
			return trunHeader{}, fmt.Errorf("%w: trun data offset", ErrBadBox)
		}
		h.dataOffset = int32(binary.BigEndian.Uint32(b[p:]))
		p += 4
	}
	if h.hasFirst = h.flags&0x4 != 0; h.hasFirst {
		if len(b) < p+4 {
			return trunHeader{}, fmt.Errorf("%w: trun first flags", ErrBadBox)
		}
		h.firstFlags = binary.BigEndian.Uint32(b[p:])
		p += 4
	}
	for _, bit := range []uint32{0x100, 0x200, 0x400, 0x800} {
		if h.flags&bit != 0 {
			h.per += 4
		}
	}
	if h.n < 0 || h.n > maxSamples || len(b) < p+h.n*h.per {
		return trunHeader{}, fmt.Errorf("%w: trun entries", ErrBadBox)
	}
	h.entries = p
	return h, nil
}

func parseTrun(b []byte, f *Fragment) error {
	h, err := parseTrunHeader(b)
	if err != nil {
		return err
	}
	flags, n, p, per, firstFlags := h.flags, h.n, h.entries, h.per, h.firstFlags
	f.Samples = n
	f.StartsWithSync = true
	for i := 0; i < n; i++ {
		q := p + i*per
		if flags&0x100 != 0 {
			f.Duration += uint64(binary.BigEndian.Uint32(b[q:]))
			q += 4
		}
		if flags&0x200 != 0 {
			q += 4
		}
		if i == 0 {
			sf := firstFlags
			if flags&0x400 != 0 {
				sf = binary.BigEndian.Uint32(b[q:])
			}
			f.StartsWithSync = sf&(1<<16) == 0
		}
	}
	return nil
}
