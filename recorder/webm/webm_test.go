package webm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"
)

// element is one parsed EBML element.
type element struct {
	id         uint32
	start, end int // whole element
	data       int // start of its body
}

func readVint(b []byte, keepMarker bool) (uint64, int) {
	if len(b) == 0 || b[0] == 0 {
		return 0, 0
	}
	n := 1
	for b[0]&(0x80>>(n-1)) == 0 {
		n++
	}
	if len(b) < n {
		return 0, 0
	}
	v := uint64(b[0])
	if !keepMarker {
		v &= uint64(0xFF >> n)
	}
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n
}

// children parses the elements of b[start:end].
func children(t *testing.T, b []byte, start, end int) []element {
	t.Helper()
	var out []element
	for p := start; p < end; {
		id, n := readVint(b[p:], true)
		size, m := readVint(b[p+n:], false)
		if n == 0 || m == 0 || p+n+m+int(size) > end {
			t.Fatalf("bad element at %d (id %x size %d)", p, id, size)
		}
		out = append(out, element{id: uint32(id), start: p, data: p + n + m, end: p + n + m + int(size)})
		p += n + m + int(size)
	}
	return out
}

func find(els []element, id uint32) []element {
	var out []element
	for _, e := range els {
		if e.id == id {
			out = append(out, e)
		}
	}
	return out
}

func uintOf(b []byte, e element) uint64 {
	var v uint64
	for _, c := range b[e.data:e.end] {
		v = v<<8 | uint64(c)
	}
	return v
}

// synthetic builds a 12 s two-track layout over two byte sources: video at
// 25 fps with a keyframe every 2 s, audio in 20 ms frames, and a video gap
// longer than a cluster may span.
func synthetic(t testing.TB) (*Layout, [][]byte) {
	t.Helper()
	src := [][]byte{make([]byte, 1<<20), make([]byte, 1<<16)}
	for i := range src[0] {
		src[0][i] = byte(i * 7)
	}
	for i := range src[1] {
		src[1][i] = byte(i * 13)
	}
	video := Track{Video: true, CodecID: "V_VP8", Width: 320, Height: 240}
	var off int64
	for i := range 300 {
		if i >= 100 && i < 260 { // 6.4 s without video
			continue
		}
		size := uint32(500 + i%300)
		video.Frames = append(video.Frames, Frame{Source: 0, Offset: off, Size: size,
			Time: time.Duration(i) * 40 * time.Millisecond, Duration: 40 * time.Millisecond, Key: i%50 == 0 || i == 260})
		off += int64(size)
	}
	audio := Track{CodecID: "A_OPUS", Channels: 2, SampleRate: 48000, CodecPrivate: OpusHead(2, 312),
		CodecDelay: 6500 * time.Microsecond, SeekPreRoll: 80 * time.Millisecond}
	for i := range 600 {
		audio.Frames = append(audio.Frames, Frame{Source: 1, Offset: int64(i * 100), Size: 100,
			Time: 10*time.Millisecond + time.Duration(i)*20*time.Millisecond, Duration: 20 * time.Millisecond, Key: true})
	}
	l, err := NewLayout([]Track{video, audio})
	if err != nil {
		t.Fatal(err)
	}
	return l, src
}

func TestLayoutStructure(t *testing.T) {
	l, src := synthetic(t)
	r, err := l.Reader([]io.ReaderAt{bytes.NewReader(src[0]), bytes.NewReader(src[1])})
	if err != nil {
		t.Fatal(err)
	}
	file := make([]byte, l.Size())
	if n, err := r.ReadAt(file, 0); n != len(file) || err != nil {
		t.Fatalf("ReadAt whole: %d %v", n, err)
	}
	// Any read, at any offset and length, equals the same slice of the whole.
	for _, chunk := range []int{1, 3, 9, 22, 777, 4096} {
		var got []byte
		buf := make([]byte, chunk)
		for off := int64(0); off < l.Size(); {
			n, err := r.ReadAt(buf, off)
			got = append(got, buf[:n]...)
			off += int64(n)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("chunk %d at %d: %v", chunk, off, err)
			}
		}
		if !bytes.Equal(got, file) {
			t.Fatalf("reading in chunks of %d differs from the whole", chunk)
		}
	}

	top := children(t, file, 0, len(file))
	if len(top) != 2 || top[0].id != idEBML || top[1].id != idSegment || top[1].end != len(file) {
		t.Fatalf("top level: %+v", top)
	}
	seg := top[1]
	level1 := children(t, file, seg.data, seg.end)
	// SeekHead entries point at the elements they name.
	for _, s := range children(t, file, level1[0].data, level1[0].end) {
		kids := children(t, file, s.data, s.end)
		id := find(kids, idSeekID)[0]
		pos := seg.data + int(uintOf(file, find(kids, idSeekPosition)[0]))
		if want := file[id.data:id.end]; !bytes.HasPrefix(file[pos:], want) {
			t.Errorf("seek entry %x points at %x", want, file[pos:pos+4])
		}
	}
	clusters := find(level1, idCluster)
	if len(clusters) != len(l.clusters) {
		t.Fatalf("%d clusters parsed, %d laid out", len(clusters), len(l.clusters))
	}
	// Cues point at clusters that open with a video keyframe at the cue time.
	cues := children(t, file, find(level1, idCues)[0].data, find(level1, idCues)[0].end)
	if len(cues) != 3 { // the video keyframes at 0, 2 and 10.4 s; the audio-only stretch has none
		t.Errorf("%d cue points, want 3", len(cues))
	}
	var lastMs int64 = -1
	frames := map[uint64]int{}
	for _, cp := range cues {
		kids := children(t, file, cp.data, cp.end)
		cueTime := uintOf(file, find(kids, idCueTime)[0])
		tp := children(t, file, find(kids, idCueTrackPositions)[0].data, find(kids, idCueTrackPositions)[0].end)
		pos := seg.data + int(uintOf(file, find(tp, idCueClusterPosition)[0]))
		cl := children(t, file, pos, len(file))[0]
		body := children(t, file, cl.data, cl.end)
		if cl.id != idCluster || uintOf(file, body[0]) != cueTime {
			t.Fatalf("cue at %d ms points at %x with timecode %d", cueTime, cl.id, uintOf(file, body[0]))
		}
		if blk := file[body[1].data:]; blk[0] != 0x81 || blk[3]&0x80 == 0 || blk[1] != 0 || blk[2] != 0 {
			t.Errorf("cue at %d ms: first block % x is no video keyframe at the cluster time", cueTime, blk[:4])
		}
	}
	// Blocks: per track increasing times, payloads are the source bytes.
	next := map[uint64]int64{1: 0, 2: 0}
	for _, c := range clusters {
		body := children(t, file, c.data, c.end)
		tc := int64(uintOf(file, body[0]))
		if tc < lastMs {
			t.Fatalf("cluster timecode %d after %d", tc, lastMs)
		}
		lastMs = tc
		for _, b := range body[1:] {
			blk := file[b.data:b.end]
			track := uint64(blk[0] & 0x7F)
			rel := int64(int16(binary.BigEndian.Uint16(blk[1:])))
			if rel < 0 || rel > maxClusterSpan {
				t.Fatalf("relative timecode %d", rel)
			}
			payload := blk[4:]
			s := src[track-1]
			if !bytes.Equal(payload, s[next[track]:next[track]+int64(len(payload))]) {
				t.Fatalf("track %d block at %d ms: payload is not the source bytes", track, tc+rel)
			}
			next[track] += int64(len(payload))
			frames[track]++
		}
	}
	if frames[1] != 140 || frames[2] != 600 {
		t.Errorf("frames per track: %v", frames)
	}
	if l.Duration() != 12*time.Second+10*time.Millisecond {
		t.Errorf("duration %v", l.Duration())
	}
}

func TestShortSource(t *testing.T) {
	l, src := synthetic(t)
	r, err := l.Reader([]io.ReaderAt{bytes.NewReader(src[0][:1000]), bytes.NewReader(src[1])})
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(io.NewSectionReader(r, 0, l.Size()))
	if !errors.Is(err, ErrShortSource) {
		t.Fatalf("err %v, want ErrShortSource", err)
	}
	if _, err := l.Reader(nil); !errors.Is(err, ErrBadInput) {
		t.Fatalf("Reader(nil): %v", err)
	}
}

// BenchmarkReadAt serves a layout in 32 KiB reads, as http.ServeContent
// does: the reads themselves allocate nothing.
func BenchmarkReadAt(b *testing.B) {
	l, src := synthetic(b)
	r, _ := l.Reader([]io.ReaderAt{bytes.NewReader(src[0]), bytes.NewReader(src[1])})
	buf := make([]byte, 32<<10)
	b.ReportAllocs()
	b.SetBytes(l.Size())
	for b.Loop() {
		for off := int64(0); off < l.Size(); off += int64(len(buf)) {
			_, _ = r.ReadAt(buf, off)
		}
	}
}
