package webm

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
)

// Reader serves a Layout's bytes. It implements io.ReaderAt, so
// io.NewSectionReader(r, 0, layout.Size()) feeds http.ServeContent.
type Reader struct {
	l   *Layout
	src []io.ReaderAt
}

// ReadAt implements io.ReaderAt.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset", ErrBadInput)
	}
	n := 0
	for n < len(p) && off < r.l.size {
		k, err := r.readPiece(p[n:], off)
		n += k
		off += int64(k)
		if err != nil {
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readPiece copies from the one piece (head, cluster header, block header
// or payload) that holds off, up to that piece's end.
func (r *Reader) readPiece(p []byte, off int64) (int, error) {
	l := r.l
	if off < int64(len(l.head)) {
		return copy(p, l.head[off:]), nil
	}
	ci := sort.Search(len(l.clusters), func(i int) bool { return l.clusters[i].out > off }) - 1
	c := &l.clusters[ci]
	if off < c.out+clusterHeader {
		var h [clusterHeader]byte
		b := putID(h[:0], idCluster)
		b = putSize8(b, uint64(c.size-12))
		b = uintEl(b, idTimecode, uint64(c.tc))
		return copy(p, b[off-c.out:]), nil
	}
	blocks := l.blocks[c.first : c.first+c.n]
	bi := sort.Search(len(blocks), func(i int) bool { return blocks[i].out > off }) - 1
	b := &blocks[bi]
	if off < b.out+blockHeader {
		var h [blockHeader]byte
		h[0] = idSimpleBlock
		binary.BigEndian.PutUint32(h[1:], 0x10000000|(4+b.size)) // 4-byte EBML size
		h[5] = 0x80 | b.track
		binary.BigEndian.PutUint16(h[6:], uint16(b.rel))
		if b.key {
			h[8] = 0x80
		}
		return copy(p, h[off-b.out:]), nil
	}
	from := off - b.out - blockHeader
	want := min(int64(len(p)), int64(b.size)-from)
	m, err := r.src[b.src].ReadAt(p[:want], b.off+from)
	if int64(m) < want {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return m, fmt.Errorf("%w: source %d at %d: %w", ErrShortSource, b.src, b.off+from, err)
	}
	return m, nil
}
