package forward

import "github.com/pion/rtp"

// maxPaddingPerPacket is the most padding one RTP packet can carry (the
// padding length is one byte).
const maxPaddingPerPacket = 255

// maxProbePackets bounds one padding burst.
const maxProbePackets = 64

// paddingPayload is every padding packet's payload: all padding, its last
// byte the padding length. Shared by all down tracks and never written.
var paddingPayload = func() []byte {
	b := make([]byte, maxPaddingPerPacket)
	b[maxPaddingPerPacket-1] = maxPaddingPerPacket
	return b
}()

// SetMaxTemporal sets the highest VP8 temporal layer (TID) forwarded, the
// allocator's choice: frames of higher layers are left out from the next
// frame on (their sequence numbers and picture ids closed up), and going up
// waits for a frame the higher layers can be decoded from. Other codecs
// ignore it.
func (d *DownTrack) SetMaxTemporal(tid int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.vp8 != nil {
		d.vp8.SetMaxTemporalLayer(uint8(min(max(tid, 0), MaxTemporal-1)))
	}
}

// MaxTemporal returns the temporal layer being forwarded (3: all).
func (d *DownTrack) MaxTemporal() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.vp8 == nil {
		return MaxTemporal - 1
	}
	return int(d.vp8.MaxTemporalLayer())
}

// CanPad reports whether SendPadding can send anything: the track is bound
// and has sent a packet (padding continues its numbering).
func (d *DownTrack) CanPad() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, _, started := d.seq.Last()
	return d.out != nil && !d.closed && started
}

// SendPadding sends about n bytes of probe traffic so that the bandwidth
// estimator can measure a higher rate: padding-only packets on the media
// stream itself, numbered in sequence with the media (munger.Pad), as
// libwebrtc pads when it has no RTX payload to send. Every receiver takes
// these: they carry the transport-wide sequence number, are read by the same
// path as the media (so receivers that timestamp on read — pion — see them
// on time), and a browser's packet buffer treats them as empty packets that
// keep the sequence continuous. Probes on the RTX stream did worse here:
// pion drains RTX only as fast as media is read (none while paused), and
// resent copies beside flowing video coincided with Chromium decode stalls.
//
// Padding goes only between frames (the newest packet sent ended a frame)
// or while the track is paused, never inside a frame, whose packets must
// stay contiguous. It returns the bytes sent: 0 when nothing was forwarded
// yet, or when a frame is under way (the next call pads instead).
func (d *DownTrack) SendPadding(n int) int {
	d.mu.Lock()
	out, h := d.out, &d.padHdr
	d.mu.Unlock()
	if out == nil {
		return 0
	}
	sent := 0
	for i := 0; sent < n && i < maxProbePackets; i++ {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			break
		}
		_, marker, started := d.seq.Last()
		flowing := d.paused == 0 && d.current >= 0
		if !started || (flowing && !marker) {
			d.mu.Unlock()
			break
		}
		o, ok := d.seq.Pad()
		if !ok {
			d.mu.Unlock()
			break
		}
		*h = rtp.Header{Version: 2, Padding: true, PayloadType: d.pt, SequenceNumber: o.Seq,
			Timestamp: o.TS, SSRC: d.ssrc, Extensions: h.Extensions[:0]}
		d.mu.Unlock()
		// Written outside the lock, like media; a media packet numbered
		// after this one may overtake it, which receivers reorder.
		if _, err := out.WriteRTP(h, paddingPayload); err != nil {
			break
		}
		sent += len(paddingPayload) + 12
	}
	return sent
}
