package media

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// loopFile reopens the file at EOF so a short test file can feed a long session.
type loopFile struct {
	path string
	f    *os.File
	// produced counts samples since the last rewind; zero at EOF means the file is empty.
	produced int
}

func (l *loopFile) open() (io.Reader, error) {
	if l.f != nil {
		_ = l.f.Close()
	}
	f, err := os.Open(l.path)
	if err != nil {
		return nil, fmt.Errorf("media: open %s: %w", l.path, err)
	}
	l.f = f
	l.produced = 0
	return f, nil
}

func (l *loopFile) Close() error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// atEOF decides whether an error from a reader is the end of the file (rewind) or a real failure.
func (l *loopFile) atEOF(err error) (bool, error) {
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return false, err
	}
	if l.produced == 0 {
		return false, fmt.Errorf("%w: %s", ErrEmptyFile, l.path)
	}
	return true, nil
}

// IVFSource reads VP8 frames from an IVF file, looping at the end.
type IVFSource struct {
	loopFile
	r             *ivfreader.IVFReader
	frameDuration time.Duration
	// Width and Height come from the IVF file header.
	Width, Height int
}

// OpenIVF opens a VP8 IVF file. The frame duration comes from the header's timebase.
func OpenIVF(path string) (*IVFSource, error) {
	s := &IVFSource{loopFile: loopFile{path: path}}
	if err := s.rewind(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *IVFSource) rewind() error {
	f, err := s.open()
	if err != nil {
		return err
	}
	r, h, err := ivfreader.NewWith(f)
	if err != nil {
		return fmt.Errorf("media: ivf header %s: %w", s.path, err)
	}
	if h.FourCC != "VP80" {
		return fmt.Errorf("%w: %s has fourcc %q, want VP80", ErrUnsupportedFile, s.path, h.FourCC)
	}
	s.r, s.Width, s.Height = r, int(h.Width), int(h.Height)
	s.frameDuration = time.Second / 25
	if h.TimebaseDenominator > 0 && h.TimebaseNumerator > 0 {
		s.frameDuration = time.Duration(float64(time.Second) * float64(h.TimebaseNumerator) /
			float64(h.TimebaseDenominator))
	}
	return nil
}

// MimeType implements Source.
func (s *IVFSource) MimeType() string { return webrtc.MimeTypeVP8 }

// NextSample implements Source.
func (s *IVFSource) NextSample() (pionmedia.Sample, error) {
	for {
		frame, _, err := s.r.ParseNextFrame()
		if err == nil {
			s.produced++
			return pionmedia.Sample{Data: frame, Duration: s.frameDuration}, nil
		}
		eof, err := s.atEOF(err)
		if !eof {
			return pionmedia.Sample{}, err
		}
		if err := s.rewind(); err != nil {
			return pionmedia.Sample{}, err
		}
	}
}

// H264Source reads an H.264 Annex-B elementary stream, one access unit per sample, looping at the end.
// SPS/PPS/SEI NAL units are grouped with the picture that follows them so an IDR sample is decodable alone.
type H264Source struct {
	loopFile
	r             *h264reader.H264Reader
	frameDuration time.Duration
	au            []byte
}

// OpenH264 opens an Annex-B file; fps sets the pacing since raw H.264 carries no timing (0 means 25).
func OpenH264(path string, fps int) (*H264Source, error) {
	if fps <= 0 {
		fps = 25
	}
	s := &H264Source{loopFile: loopFile{path: path}, frameDuration: time.Second / time.Duration(fps)}
	if err := s.rewind(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *H264Source) rewind() error {
	f, err := s.open()
	if err != nil {
		return err
	}
	r, err := h264reader.NewReader(f)
	if err != nil {
		return fmt.Errorf("media: h264 %s: %w", s.path, err)
	}
	s.r = r
	return nil
}

// MimeType implements Source.
func (s *H264Source) MimeType() string { return webrtc.MimeTypeH264 }

var annexBStartCode = []byte{0, 0, 0, 1}

// NextSample implements Source. The sample is Annex-B (start codes kept), as pion's H.264 payloader expects.
func (s *H264Source) NextSample() (pionmedia.Sample, error) {
	s.au = s.au[:0]
	for {
		nal, err := s.r.NextNAL()
		if err != nil {
			eof, err := s.atEOF(err)
			if !eof {
				return pionmedia.Sample{}, err
			}
			if err := s.rewind(); err != nil {
				return pionmedia.Sample{}, err
			}
			continue
		}
		s.au = append(s.au, annexBStartCode...)
		s.au = append(s.au, nal.Data...)
		switch nal.UnitType {
		case h264reader.NalUnitTypeCodedSliceNonIdr, h264reader.NalUnitTypeCodedSliceIdr,
			h264reader.NalUnitTypeCodedSliceDataPartitionA:
			s.produced++
			return pionmedia.Sample{Data: s.au, Duration: s.frameDuration}, nil
		default:
			// parameter sets, SEI, AUD: keep collecting until the picture
		}
	}
}

// OggOpusSource reads Opus packets from an Ogg file, looping at the end.
// The file should hold one Opus packet per page (ffmpeg -page_duration 20000), as pion's reader
// returns whole pages.
type OggOpusSource struct {
	loopFile
	r        *oggreader.OggReader
	lastGran uint64
}

// OpenOggOpus opens an Ogg/Opus file.
func OpenOggOpus(path string) (*OggOpusSource, error) {
	s := &OggOpusSource{loopFile: loopFile{path: path}}
	if err := s.rewind(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *OggOpusSource) rewind() error {
	f, err := s.open()
	if err != nil {
		return err
	}
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		return fmt.Errorf("media: ogg %s: %w", s.path, err)
	}
	s.r, s.lastGran = r, 0
	return nil
}

// MimeType implements Source.
func (s *OggOpusSource) MimeType() string { return webrtc.MimeTypeOpus }

// NextSample implements Source. Durations come from granule positions (48 kHz), 20 ms when unknown.
func (s *OggOpusSource) NextSample() (pionmedia.Sample, error) {
	for {
		page, hdr, err := s.r.ParseNextPage()
		if err != nil {
			eof, err := s.atEOF(err)
			if !eof {
				return pionmedia.Sample{}, err
			}
			if err := s.rewind(); err != nil {
				return pionmedia.Sample{}, err
			}
			continue
		}
		if len(page) >= 8 && string(page[:8]) == "OpusTags" {
			continue
		}
		d := 20 * time.Millisecond
		if hdr.GranulePosition > s.lastGran && s.lastGran > 0 {
			d = time.Duration(hdr.GranulePosition-s.lastGran) * time.Second / 48000
		}
		s.lastGran = hdr.GranulePosition
		s.produced++
		return pionmedia.Sample{Data: page, Duration: d}, nil
	}
}

// OpenFile picks the source for a file by extension: .ivf (VP8), .h264/.264 (H.264 at fps), .ogg/.opus.
func OpenFile(path string, fps int) (Source, error) {
	switch ext := fileExt(path); ext {
	case ".ivf":
		return OpenIVF(path)
	case ".h264", ".264":
		return OpenH264(path, fps)
	case ".ogg", ".opus":
		return OpenOggOpus(path)
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedFile, path)
	}
}

func fileExt(path string) string {
	for i := len(path) - 1; i >= 0 && path[i] != '/'; i-- {
		if path[i] == '.' {
			return path[i:]
		}
	}
	return ""
}
