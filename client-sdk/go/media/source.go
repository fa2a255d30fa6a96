// Package media provides paced sample sources (IVF/VP8, H.264 Annex-B, Ogg/Opus files and synthetic
// marker frames) for publishing through the classcast Go client, and zero-allocation inspectors for the
// RTP payloads a subscriber receives (keyframes, VP8 frame size, synthetic frame markers).
package media

import (
	"context"
	"time"

	pionmedia "github.com/pion/webrtc/v4/pkg/media"
)

// Source yields encoded media samples, one frame (video) or one packet (audio) at a time.
// Sources are not safe for concurrent use; a Pump owns one.
type Source interface {
	// NextSample returns the next sample. Data may be reused by the next call.
	NextSample() (pionmedia.Sample, error)
	// MimeType is the WebRTC mime type of the samples, e.g. "video/VP8".
	MimeType() string
	// Close releases the source's file, if any.
	Close() error
}

// SampleWriter is what a Pump writes into; *webrtc.TrackLocalStaticSample satisfies it.
type SampleWriter interface {
	WriteSample(s pionmedia.Sample) error
}

// Pump writes samples from src into w paced in real time until ctx ends or src fails.
// Pacing follows an absolute schedule (start + sum of durations), so slow writes do not drift the rate.
// The skip func, when non-nil, is asked before each write whether to drop the sample
// (used for dynacast: a paused simulcast layer keeps reading its file but sends nothing).
// It returns ctx.Err() when ctx ends.
func Pump(ctx context.Context, src Source, w SampleWriter, skip func() bool) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	next := time.Now()
	for {
		s, err := src.NextSample()
		if err != nil {
			return err
		}
		if skip == nil || !skip() {
			if err := w.WriteSample(s); err != nil {
				return err
			}
		}
		next = next.Add(s.Duration)
		if wait := time.Until(next); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}
