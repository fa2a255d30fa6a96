package trackwriter

import "time"

// clockState maps RTP timestamps to decode times on the recording timeline.
//
// The first frame's wall-clock time comes from the latest RTCP sender report
// (publisher clock, shared by all of a participant's tracks) or, before any
// report, from its arrival time. From then on the track's own RTP clock
// advances the timeline, so the file never jumps when a later report
// arrives; drift between the two clocks over a lesson is a few ms.
type clockState struct {
	started  bool
	base     uint64 // decode time of the first frame
	firstExt int64
	lastTs   uint32
	ext      int64
	Source   string // "sender-report" or "arrival"
}

func (c *clockState) dts(ts uint32, w *Writer) (uint64, bool) {
	if !c.started {
		c.started, c.lastTs, c.ext, c.firstExt = true, ts, int64(ts), int64(ts)
		wall := w.arrival
		c.Source = "arrival"
		w.srMu.Lock()
		sr := w.sr
		w.srMu.Unlock()
		rate := int64(w.cfg.Codec.TimeScale())
		if sr.ok {
			wall = sr.wall.Add(time.Duration(int64(int32(ts-sr.rtp)) * int64(time.Second) / rate))
			c.Source = "sender-report"
		}
		if off := wall.Sub(w.cfg.Epoch); off > 0 {
			c.base = uint64(int64(off) * rate / int64(time.Second))
		}
		return c.base, true
	}
	c.ext += int64(int32(ts - c.lastTs))
	c.lastTs = ts
	if c.ext < c.firstExt {
		return 0, false
	}
	return c.base + uint64(c.ext-c.firstExt), true
}
