package forward

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/classcast/classcast/sfu/track"
)

// Attach implements track.Published: a consumer that is not a WebRTC
// subscriber (recorder, RTSP output, cascade link) gets its own down track
// writing one continuous stream into w.
func (u *UpTrack) Attach(w track.RTPWriter, opts track.AttachOptions) (track.Attachment, error) {
	d := NewDownTrack(u, opts.Quality)
	var b [4]byte
	_, _ = rand.Read(b[:])
	if err := d.Bind(w, binary.BigEndian.Uint32(b[:]), uint8(u.info.Codec.PayloadType), 0, 0); err != nil {
		return nil, err
	}
	d.RequestKeyframe()
	u.attached.Add(1)
	return &attachment{d: d, u: u}, nil
}

type attachment struct {
	d    *DownTrack
	u    *UpTrack
	once sync.Once
}

func (a *attachment) RequestKeyframe()                  { a.d.RequestKeyframe() }
func (a *attachment) SetQuality(q livekit.VideoQuality) { a.d.SetMaxQuality(q) }
func (a *attachment) Close() {
	a.once.Do(func() {
		a.d.Close()
		a.u.attached.Add(-1)
	})
}

// Attached counts consumers attached with Attach (recorder, RTSP output,
// cascade links): they need the top layer, which dynacast must keep on.
func (u *UpTrack) Attached() int { return int(u.attached.Load()) }

// SenderReport passes the publisher's wall clock for a layer (from an RTCP
// sender report) to every attached consumer that wants it, translated into
// that consumer's own timestamp space.
func (u *UpTrack) SenderReport(layer int, wall time.Time, rtpTS uint32) {
	u.mu.Lock()
	downs := make([]*DownTrack, 0, len(u.downs))
	for d := range u.downs {
		downs = append(downs, d)
	}
	u.mu.Unlock()
	for _, d := range downs {
		d.senderReport(layer, wall, rtpTS)
	}
}

func (d *DownTrack) senderReport(layer int, wall time.Time, rtpTS uint32) {
	d.mu.Lock()
	w, ok := d.out.(track.SenderReportWriter)
	if !ok || int(d.current) != layer {
		d.mu.Unlock()
		return
	}
	ts, ok := d.seq.TranslateTS(uint8(layer), rtpTS)
	d.mu.Unlock()
	if ok {
		w.WriteSenderReport(wall, ts)
	}
}

var _ track.Published = (*UpTrack)(nil)
