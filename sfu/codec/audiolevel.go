package codec

// AudioLevelURI is the RTP header extension carrying the audio level.
const AudioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// ParseAudioLevel reads the RFC 6464 client-to-mixer audio level from the
// value of that header extension (as returned by pion's
// rtp.Header.GetExtension): level is in -dBov, 0 (loudest) to 127
// (silence), and voice is the V flag, set when the sender's voice activity
// detector thinks the packet holds speech (optional; many senders leave it
// unset). ok is false when the value is empty.
func ParseAudioLevel(ext []byte) (level uint8, voice bool, ok bool) {
	if len(ext) < 1 {
		return 0, false, false
	}
	return ext[0] & 0x7f, ext[0]&0x80 != 0, true
}
