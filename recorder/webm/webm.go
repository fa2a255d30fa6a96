// Package webm lays out a WebM file whose frames stay where they are: the
// caller names each frame by (source, offset, size) — e.g. a sample of a
// recorded fMP4 part — and a Layout serves the file's bytes at any offset,
// reading payloads from the sources on demand. Nothing is copied to disk,
// and because every size is known up front the file has a real length,
// cues and seek entries, so <video> can seek it with Range requests.
//
// Why it exists: the recorder stores VP8 camera tracks as VP8 in fMP4 (a
// vp08 sample entry with vpcC, as the VP codec ISO-BMFF binding defines),
// which ffmpeg and Firefox read, but Chromium's MP4 parser knows no vp08
// sample entry at all (MediaSource.isTypeSupported('video/mp4;
// codecs="vp08.00.10.08"') is false, and so is canPlayType). Chromium does
// play VP8 and Opus in WebM, so the replay handler remuxes to WebM at read
// time instead of transcoding or storing a second copy.
//
// The layout is EBML header, Segment { SeekHead, Info, Tracks, Cues,
// Cluster… }: cues come first so a player learns every keyframe position
// from the first bytes it reads.
package webm

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"time"
)

// Track describes one output track and lists its frames.
type Track struct {
	Video         bool
	CodecID       string // "V_VP8", "V_VP9", "A_OPUS"
	CodecPrivate  []byte // OpusHead for Opus
	Width, Height int    // video
	Channels      int    // audio
	SampleRate    float64
	CodecDelay    time.Duration // Opus pre-skip
	SeekPreRoll   time.Duration // Opus: 80 ms
	Frames        []Frame       // in decode order
}

// Frame is one block's payload, located in one of the sources.
type Frame struct {
	Source   int // index into the sources passed to Reader
	Offset   int64
	Size     uint32
	Time     time.Duration // on the output timeline
	Duration time.Duration
	Key      bool
}

const (
	// TimecodeScale is one millisecond: block times are whole milliseconds.
	timecodeScale = int64(time.Millisecond)
	// clusterHeader is Cluster ID (4) + size (8) + Timecode element (10).
	clusterHeader = 22
	// blockHeader is SimpleBlock ID (1) + size (4) + track (1) +
	// relative timecode (2) + flags (1).
	blockHeader = 9
	// maxClusterSpan keeps relative block timecodes (int16 ms) far from
	// overflow and bounds how much a seek without a keyframe cue skips.
	maxClusterSpan = 5000
	// minAudioCluster is the cluster length when there is no video whose
	// keyframes would start clusters.
	minAudioCluster = 1000
	maxBlockPayload = 1<<28 - 6
)

type block struct {
	out   int64 // offset of the SimpleBlock element in the output
	off   int64 // of the payload in its source
	size  uint32
	src   int32
	rel   int16 // ms from the cluster's timecode
	track uint8 // track number (1-based)
	key   bool
	ms    int64
}

type cluster struct {
	out   int64
	size  int64 // whole element
	tc    int64 // ms
	first int   // index of its first block
	n     int
	cue   bool // starts with a keyframe of the cue track
}

// Layout is an immutable WebM file description. It is safe for concurrent
// use; Reader binds it to the sources holding the payloads.
type Layout struct {
	head     []byte
	blocks   []block
	clusters []cluster
	size     int64
	duration time.Duration
	sources  int
}

// NewLayout interleaves the tracks' frames by time into clusters and
// computes the whole file layout.
func NewLayout(tracks []Track) (*Layout, error) {
	if len(tracks) == 0 || len(tracks) > 126 {
		return nil, fmt.Errorf("%w: %d tracks", ErrBadInput, len(tracks))
	}
	l := &Layout{}
	cueTrack := 0 // the first video track, or the first track
	for i, t := range tracks {
		if t.Video {
			cueTrack = i
			break
		}
	}
	merged, err := l.merge(tracks)
	if err != nil {
		return nil, err
	}
	l.cluster(merged, uint8(cueTrack+1), tracks[cueTrack].Video)
	cues := 0
	for _, c := range l.clusters {
		if c.cue {
			cues++
		}
	}
	// First pass: the head's length with placeholder positions (all
	// positions are fixed-width, so the second pass has the same length).
	first := l.buildHead(tracks, uint8(cueTrack+1), 0, 0)
	headLen := int64(len(first))
	for i := range l.clusters {
		l.clusters[i].out += headLen
	}
	for i := range l.blocks {
		l.blocks[i].out += headLen
	}
	l.size = headLen
	if n := len(l.clusters); n > 0 {
		last := l.clusters[n-1]
		l.size = last.out + last.size
	}
	l.head = l.buildHead(tracks, uint8(cueTrack+1), headLen, l.size)
	if int64(len(l.head)) != headLen {
		return nil, fmt.Errorf("%w: head length changed from %d to %d", ErrBadInput, headLen, len(l.head))
	}
	return l, nil
}

// merge orders all frames by time (video first on a tie, so a cluster
// starts on its keyframe) and checks them.
func (l *Layout) merge(tracks []Track) ([]block, error) {
	total := 0
	for _, t := range tracks {
		total += len(t.Frames)
	}
	out := make([]block, 0, total)
	for i, t := range tracks {
		last := int64(-1)
		for _, f := range t.Frames {
			if f.Size > maxBlockPayload || f.Source < 0 || f.Time < 0 {
				return nil, fmt.Errorf("%w: frame of %d bytes at %v (source %d)", ErrBadInput, f.Size, f.Time, f.Source)
			}
			if f.Source >= l.sources {
				l.sources = f.Source + 1
			}
			ms := int64(f.Time) / timecodeScale
			if ms < last { // a track's times must not go back; drop the odd frame
				continue
			}
			last = ms
			out = append(out, block{off: f.Offset, size: f.Size, src: int32(f.Source), track: uint8(i + 1), key: f.Key, ms: ms})
			l.duration = max(l.duration, f.Time+f.Duration)
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].ms != out[b].ms {
			return out[a].ms < out[b].ms
		}
		return tracks[out[a].track-1].Video && !tracks[out[b].track-1].Video
	})
	return out, nil
}

// cluster assigns blocks to clusters: one starts at every keyframe of the
// cue track (when it is video), after minAudioCluster of audio only, and
// whenever a cluster would span more than maxClusterSpan.
func (l *Layout) cluster(merged []block, cueTrack uint8, cueIsVideo bool) {
	l.blocks = merged
	var pos int64
	for i := range l.blocks {
		b := &l.blocks[i]
		keyOfCue := b.track == cueTrack && b.key
		var c *cluster
		if n := len(l.clusters); n > 0 {
			c = &l.clusters[n-1]
		}
		span := int64(-1)
		if c != nil {
			span = b.ms - c.tc
		}
		start := c == nil || span > maxClusterSpan ||
			(keyOfCue && (cueIsVideo || span >= minAudioCluster))
		if start {
			l.clusters = append(l.clusters, cluster{out: pos, size: clusterHeader, tc: b.ms, first: i, cue: keyOfCue})
			c = &l.clusters[len(l.clusters)-1]
			pos += clusterHeader
		}
		b.rel = int16(b.ms - c.tc)
		b.out = pos
		n := int64(blockHeader) + int64(b.size)
		pos += n
		c.size += n
		c.n++
	}
}

// buildHead returns EBML header, Segment header, SeekHead, Info, Tracks and
// Cues. headLen and size are 0 in the measuring pass.
func (l *Layout) buildHead(tracks []Track, cueTrack uint8, headLen, size int64) []byte {
	var ebml []byte
	ebml = uintEl(ebml, idEBMLVersion, 1)
	ebml = uintEl(ebml, idEBMLReadVersion, 1)
	ebml = uintEl(ebml, idEBMLMaxIDLength, 4)
	ebml = uintEl(ebml, idEBMLMaxSizeLength, 8)
	ebml = bytesEl(ebml, idDocType, []byte("webm"))
	ebml = uintEl(ebml, idDocTypeVersion, 4)
	ebml = uintEl(ebml, idDocTypeReadVersion, 2)
	head := master(nil, idEBML, ebml)
	head = putID(head, idSegment)
	segData := int64(len(head)) + 8
	if size > 0 {
		head = putSize8(head, uint64(size-segData))
	} else {
		head = putSize8(head, 0)
	}

	var info []byte
	info = uintEl(info, idTimecodeScale, uint64(timecodeScale))
	info = floatEl(info, idDuration, float64(l.duration)/float64(timecodeScale))
	info = bytesEl(info, idMuxingApp, []byte("classcast"))
	info = bytesEl(info, idWritingApp, []byte("classcast"))
	infoEl := master(nil, idInfo, info)
	tracksEl := master(nil, idTracks, trackEntries(tracks))
	var cues []byte
	for _, c := range l.clusters {
		if !c.cue {
			continue
		}
		var pos []byte
		pos = uintEl(pos, idCueTrack, uint64(cueTrack))
		pos = uintEl(pos, idCueClusterPosition, uint64(max(c.out-segData, 0)))
		var pt []byte
		pt = uintEl(pt, idCueTime, uint64(c.tc))
		pt = master(pt, idCueTrackPositions, pos)
		cues = master(cues, idCuePoint, pt)
	}
	var cuesEl []byte
	if len(cues) > 0 {
		cuesEl = master(nil, idCues, cues)
	}

	// SeekHead positions are relative to the segment's data.
	seekLen := int64(len(seekHead(0, 0, 0, len(cuesEl) > 0)))
	infoPos := seekLen
	tracksPos := infoPos + int64(len(infoEl))
	cuesPos := tracksPos + int64(len(tracksEl))
	head = append(head, seekHead(infoPos, tracksPos, cuesPos, len(cuesEl) > 0)...)
	head = append(head, infoEl...)
	head = append(head, tracksEl...)
	return append(head, cuesEl...)
}

func seekHead(info, tracks, cues int64, hasCues bool) []byte {
	entry := func(b []byte, id uint32, pos int64) []byte {
		var s []byte
		s = bytesEl(s, idSeekID, idBytes(id))
		s = uintEl(s, idSeekPosition, uint64(pos))
		return master(b, idSeek, s)
	}
	var body []byte
	body = entry(body, idInfo, info)
	body = entry(body, idTracks, tracks)
	if hasCues {
		body = entry(body, idCues, cues)
	}
	return master(nil, idSeekHead, body)
}

func trackEntries(tracks []Track) []byte {
	var out []byte
	for i, t := range tracks {
		var e []byte
		e = uintEl(e, idTrackNumber, uint64(i+1))
		e = uintEl(e, idTrackUID, uint64(i+1))
		kind := uint64(2)
		if t.Video {
			kind = 1
		}
		e = uintEl(e, idTrackType, kind)
		e = uintEl(e, idFlagLacing, 0)
		e = bytesEl(e, idCodecID, []byte(t.CodecID))
		if len(t.CodecPrivate) > 0 {
			e = bytesEl(e, idCodecPrivate, t.CodecPrivate)
		}
		if t.CodecDelay > 0 {
			e = uintEl(e, idCodecDelay, uint64(t.CodecDelay))
		}
		if t.SeekPreRoll > 0 {
			e = uintEl(e, idSeekPreRoll, uint64(t.SeekPreRoll))
		}
		if t.Video {
			var v []byte
			v = uintEl(v, idPixelWidth, uint64(t.Width))
			v = uintEl(v, idPixelHeight, uint64(t.Height))
			e = master(e, idVideo, v)
		} else {
			var a []byte
			a = floatEl(a, idSampling, t.SampleRate)
			a = uintEl(a, idChannels, uint64(max(t.Channels, 1)))
			e = master(e, idAudio, a)
		}
		out = master(out, idTrackEntry, e)
	}
	return out
}

// Size is the file's length in bytes.
func (l *Layout) Size() int64 { return l.size }

// Duration is where the last frame ends on the output timeline.
func (l *Layout) Duration() time.Duration { return l.duration }

// Sources is how many sources the frames name (the length Reader needs).
func (l *Layout) Sources() int { return l.sources }

// OpusHead returns the CodecPrivate of an Opus track (RFC 7845 §5.1,
// channel mapping family 0: mono or stereo).
func OpusHead(channels int, preSkip uint16) []byte {
	b := []byte("OpusHead")
	b = append(b, 1, byte(max(channels, 1)))
	b = binary.LittleEndian.AppendUint16(b, preSkip)
	b = binary.LittleEndian.AppendUint32(b, 48000)
	b = binary.LittleEndian.AppendUint16(b, 0) // output gain
	return append(b, 0)                        // mapping family
}

// Reader binds the layout to the sources its frames name.
func (l *Layout) Reader(sources []io.ReaderAt) (*Reader, error) {
	if len(sources) < l.sources {
		return nil, fmt.Errorf("%w: %d sources, frames name %d", ErrBadInput, len(sources), l.sources)
	}
	return &Reader{l: l, src: sources}, nil
}
