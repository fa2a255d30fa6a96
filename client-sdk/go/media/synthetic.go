package media

import (
	"encoding/binary"
	"time"

	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
)

// Synthetic frames carry a marker, a sequence number and the send time, so a load tester measures
// latency and loss without encoding or decoding anything. They are not decodable, but they are valid
// enough for an SFU: VP8 frames have a correct frame tag (keyframe bit, show_frame, first partition size)
// and keyframes a correct start code and size, so descriptor parsing, keyframe detection and layer
// selection work; pion adds the RTP payload descriptor (with picture id) and the marker bit.
//
// VP8 frame layout (all multi-byte fields big-endian unless noted):
//
//	keyframe:   tag[3] 9d 01 2a width[2 LE] height[2 LE] | marker block | zero padding
//	interframe: tag[3]                                    | marker block | zero padding
//
//	tag = !keyframe | version(0)<<1 | show_frame(1)<<4 | first_partition_size<<5, 3 bytes little-endian
//
// Opus packet layout: TOC byte 0xF8 (CELT fullband 20 ms, mono, one frame) | marker block | padding.
//
// Marker block (SyntheticMarkerLen = 20 bytes):
//
//	"CCSY"[4] version(1)[1] flags[1] (bit0 keyframe) reserved[2] sequence[4] send_time_unix_ns[8]
const SyntheticMarkerLen = 20

var syntheticMagic = [4]byte{'C', 'C', 'S', 'Y'}

const (
	syntheticVersion      = 1
	syntheticFlagKeyframe = 0x01
	vp8KeyHeaderLen       = 10
	vp8InterHeaderLen     = 3
	opusTOCFullband20ms   = 0xF8
)

// SyntheticFrame is what ParseSyntheticFrame recovers.
type SyntheticFrame struct {
	Sequence uint32
	SentAt   time.Time
	Keyframe bool
}

// SyntheticConfig shapes a SyntheticSource. The zero value is valid.
type SyntheticConfig struct {
	// Audio makes Opus-shaped 20 ms packets instead of VP8 frames. It defaults to false (video).
	Audio bool
	// FPS is the video frame rate. It defaults to 25.
	FPS int
	// KeyframeInterval is the number of frames between keyframes. It defaults to FPS (one a second).
	KeyframeInterval int
	// Width and Height are written in keyframe headers. They default to 1280x720.
	Width, Height int
	// FrameSize is the bytes per frame (packet for audio), at least the headers. It defaults to 1200
	// for video (about 240 kbit/s at 25 fps) and 60 for audio.
	FrameSize int
	// KeyframeSize is the bytes per keyframe. It defaults to 4 × FrameSize.
	KeyframeSize int
	// Now stamps the send time. It defaults to time.Now.
	Now func() time.Time
}

// SyntheticSource produces marker frames forever. Its buffer is reused between samples.
type SyntheticSource struct {
	cfg SyntheticConfig
	seq uint32
	buf []byte
}

// NewSyntheticSource builds a source from cfg, filling defaults.
func NewSyntheticSource(cfg SyntheticConfig) *SyntheticSource {
	if cfg.FPS <= 0 {
		cfg.FPS = 25
	}
	if cfg.KeyframeInterval <= 0 {
		cfg.KeyframeInterval = cfg.FPS
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		cfg.Width, cfg.Height = 1280, 720
	}
	minSize := vp8KeyHeaderLen + SyntheticMarkerLen
	if cfg.FrameSize <= 0 {
		cfg.FrameSize = 1200
		if cfg.Audio {
			cfg.FrameSize = 60
		}
	}
	if cfg.FrameSize < minSize {
		cfg.FrameSize = minSize
	}
	if cfg.KeyframeSize < cfg.FrameSize {
		cfg.KeyframeSize = 4 * cfg.FrameSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &SyntheticSource{cfg: cfg, buf: make([]byte, cfg.KeyframeSize)}
}

// MimeType implements Source.
func (s *SyntheticSource) MimeType() string {
	if s.cfg.Audio {
		return webrtc.MimeTypeOpus
	}
	return webrtc.MimeTypeVP8
}

// Close implements Source.
func (s *SyntheticSource) Close() error { return nil }

// NextSample implements Source.
func (s *SyntheticSource) NextSample() (pionmedia.Sample, error) {
	seq := s.seq
	s.seq++
	if s.cfg.Audio {
		frame := s.buf[:s.cfg.FrameSize]
		clear(frame)
		frame[0] = opusTOCFullband20ms
		putMarker(frame[1:], seq, false, s.cfg.Now())
		return pionmedia.Sample{Data: frame, Duration: 20 * time.Millisecond}, nil
	}
	key := seq%uint32(s.cfg.KeyframeInterval) == 0
	size, hdr := s.cfg.FrameSize, vp8InterHeaderLen
	if key {
		size, hdr = s.cfg.KeyframeSize, vp8KeyHeaderLen
	}
	frame := s.buf[:size]
	clear(frame)
	writeVP8Header(frame, key, s.cfg.Width, s.cfg.Height)
	putMarker(frame[hdr:], seq, key, s.cfg.Now())
	return pionmedia.Sample{Data: frame, Duration: time.Second / time.Duration(s.cfg.FPS)}, nil
}

func writeVP8Header(frame []byte, key bool, width, height int) {
	hdr := vp8InterHeaderLen
	var tag uint32 = 1 << 4 // show_frame
	if key {
		hdr = vp8KeyHeaderLen
	} else {
		tag |= 1
	}
	tag |= uint32(len(frame)-hdr) << 5
	frame[0], frame[1], frame[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	if key {
		frame[3], frame[4], frame[5] = 0x9d, 0x01, 0x2a
		binary.LittleEndian.PutUint16(frame[6:], uint16(width&0x3fff))
		binary.LittleEndian.PutUint16(frame[8:], uint16(height&0x3fff))
	}
}

func putMarker(b []byte, seq uint32, key bool, now time.Time) {
	copy(b, syntheticMagic[:])
	b[4] = syntheticVersion
	if key {
		b[5] = syntheticFlagKeyframe
	}
	binary.BigEndian.PutUint32(b[8:], seq)
	binary.BigEndian.PutUint64(b[12:], uint64(now.UnixNano()))
}

// ParseSyntheticFrame reads the marker block from the start of a synthetic frame: a VP8 frame
// (the RTP payload after the descriptor, first packet of the frame) or an Opus packet, per the
// layouts above. It allocates nothing.
func ParseSyntheticFrame(frame []byte, audio bool) (SyntheticFrame, error) {
	off := 1
	if !audio {
		if len(frame) < vp8InterHeaderLen {
			return SyntheticFrame{}, ErrShortPacket
		}
		off = vp8InterHeaderLen
		if frame[0]&0x01 == 0 {
			off = vp8KeyHeaderLen
		}
	}
	if len(frame) < off+SyntheticMarkerLen {
		return SyntheticFrame{}, ErrShortPacket
	}
	m := frame[off:]
	if [4]byte(m[:4]) != syntheticMagic || m[4] != syntheticVersion {
		return SyntheticFrame{}, ErrNotSynthetic
	}
	return SyntheticFrame{
		Sequence: binary.BigEndian.Uint32(m[8:]),
		SentAt:   time.Unix(0, int64(binary.BigEndian.Uint64(m[12:]))),
		Keyframe: m[5]&syntheticFlagKeyframe != 0,
	}, nil
}
