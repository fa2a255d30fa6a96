package forward

import "github.com/pion/rtp"

// maxPaddingPerPacket is the most padding one RTP packet can carry (the
// padding length is one byte).
const maxPaddingPerPacket = 255

// HasRTX reports whether the subscriber negotiated a retransmission stream,
// which is where probe padding goes.
func (d *DownTrack) HasRTX() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out != nil && d.rtxPT != 0 && d.rtxSSRC != 0
}

// SendPadding sends about n bytes of probe traffic so the estimator can
// measure a higher rate: recent packets resent on the RTX stream, as
// libwebrtc does when it probes with payload. Receivers drop the duplicates,
// but their transport-wide sequence numbers are acknowledged — unlike
// padding-only packets, which browsers may leave out of their feedback and
// which would then read as loss. Returns the bytes sent (0 without RTX or
// before anything was forwarded).
func (d *DownTrack) SendPadding(n int) int {
	d.mu.Lock()
	out, ssrc, pt := d.out, d.rtxSSRC, d.rtxPT
	last, _, ok := d.seq.Last()
	if d.probeScratch == nil {
		d.probeScratch = &scratch{}
		d.paddingBuf = make([]byte, maxPaddingPerPacket)
		d.paddingBuf[maxPaddingPerPacket-1] = maxPaddingPerPacket
	}
	s := d.probeScratch
	d.mu.Unlock()
	if out == nil || pt == 0 || ssrc == 0 {
		return 0
	}
	sent := 0
	for i := 0; ok && sent < n && i < maxProbePackets; i++ {
		// Cycle over the last few packets while they are still cached.
		b := d.retransmit(last.Seq-uint16(i%probeWindow), s)
		if b == 0 {
			break // paused long ago: nothing recent to resend
		}
		sent += b
	}
	// Whatever resending could not cover goes as padding-only packets:
	// better than no probe at all, which would leave a paused stream with
	// no way to prove the link has room again.
	for i := 0; sent < n && i < maxProbePackets; i++ {
		d.mu.Lock()
		d.rtxSeq++
		h := rtp.Header{Version: 2, Padding: true, PayloadType: pt, SequenceNumber: d.rtxSeq, SSRC: ssrc}
		d.mu.Unlock()
		if _, err := out.WriteRTP(&h, d.paddingBuf); err != nil {
			break
		}
		sent += len(d.paddingBuf) + 12
	}
	return sent
}

const (
	// probeWindow is how many recent packets probes cycle over.
	probeWindow = 8
	// maxProbePackets bounds one padding burst.
	maxProbePackets = 64
)
