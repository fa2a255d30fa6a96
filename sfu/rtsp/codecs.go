package rtsp

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/sdp"
	"github.com/livekit/protocol/livekit"
	psdp "github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// defaultProfileLevelID is announced when neither the SDP fmtp nor an SPS
// says which H.264 profile is sent: constrained baseline 3.1, what every
// WebRTC endpoint decodes. The stream itself is never altered.
const defaultProfileLevelID = "42e01f"

// ingestTrack is one RTSP media that classcast republishes as a track.
type ingestTrack struct {
	media  *description.Media
	format format.Format
	spec   TrackSpec
	h264   *format.H264 // non-nil for H.264 (SPS/PPS fixing)
}

// trackPlan is the result of matching a source's SDP against what classcast
// carries.
type trackPlan struct {
	tracks []ingestTrack
	// skipped names media that were ignored (non-strict mode only), for the
	// pull source's state.
	skipped []string
}

// parseSDP parses an SDP body into gortsplib's description and the raw
// session description (kept for fmtp values gortsplib drops, such as
// profile-level-id).
func parseSDP(body []byte) (*description.Session, *sdp.SessionDescription, error) {
	var raw sdp.SessionDescription
	if err := raw.Unmarshal(body); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadSDP, err)
	}
	var desc description.Session
	if err := desc.Unmarshal(&raw); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadSDP, err)
	}
	return &desc, &raw, nil
}

// planTracks picks, for each audio/video media, the first format classcast
// carries. In strict mode (RTSP push) any audio/video media without one is an
// error naming the codec, so the publisher learns what to change; otherwise
// (pull, where a camera's AAC track is common and not the operator's choice)
// such media are skipped and listed. raw may be nil.
func planTracks(desc *description.Session, raw *sdp.SessionDescription, strict bool) (trackPlan, error) {
	var plan trackPlan
	var rejected []string
	videos, audios := 0, 0
	for i, medi := range desc.Medias {
		if medi.IsBackChannel || (medi.Type != description.MediaTypeVideo && medi.Type != description.MediaTypeAudio) {
			plan.skipped = append(plan.skipped, string(medi.Type))
			continue
		}
		var rawMedia *psdp.MediaDescription
		if raw != nil && len(raw.MediaDescriptions) == len(desc.Medias) {
			rawMedia = raw.MediaDescriptions[i]
		}
		forma, spec, names := pickFormat(medi, rawMedia)
		if forma == nil {
			rejected = append(rejected, names...)
			plan.skipped = append(plan.skipped, strings.Join(names, "/"))
			continue
		}
		switch spec.Kind {
		case webrtc.RTPCodecTypeVideo:
			videos++
			spec.Name, spec.Source = videoRole(videos)
		default:
			audios++
			spec.Name, spec.Source = audioRole(audios)
		}
		if spec.Source == livekit.TrackSource_UNKNOWN {
			plan.skipped = append(plan.skipped, "extra "+string(medi.Type))
			continue
		}
		it := ingestTrack{media: medi, format: forma, spec: spec}
		if h, ok := forma.(*format.H264); ok {
			it.h264 = h
		}
		plan.tracks = append(plan.tracks, it)
	}
	if len(rejected) > 0 && (strict || len(plan.tracks) == 0) {
		return trackPlan{}, &UnsupportedCodecError{Codecs: rejected}
	}
	if len(plan.tracks) == 0 {
		return trackPlan{}, fmt.Errorf("%w (supported: %s)", ErrNoTracks, SupportedCodecs)
	}
	return plan, nil
}

// videoRole: the first video is the camera, the second the whiteboard.
func videoRole(n int) (string, livekit.TrackSource) {
	switch n {
	case 1:
		return "camera", livekit.TrackSource_CAMERA
	case 2:
		return "whiteboard", livekit.TrackSource_SCREEN_SHARE
	}
	return "", livekit.TrackSource_UNKNOWN
}

func audioRole(n int) (string, livekit.TrackSource) {
	switch n {
	case 1:
		return "audio", livekit.TrackSource_MICROPHONE
	case 2:
		return "whiteboard-audio", livekit.TrackSource_SCREEN_SHARE_AUDIO
	}
	return "", livekit.TrackSource_UNKNOWN
}

// pickFormat returns the first supported format of medi with its track spec,
// or nil and the names of the formats offered.
func pickFormat(medi *description.Media, raw *psdp.MediaDescription) (format.Format, TrackSpec, []string) {
	var names []string
	for _, f := range medi.Formats {
		if spec, ok := specFor(f, raw); ok {
			return f, spec, nil
		}
		names = append(names, codecName(f))
	}
	return nil, TrackSpec{}, names
}

func specFor(f format.Format, raw *psdp.MediaDescription) (TrackSpec, bool) {
	switch f := f.(type) {
	case *format.H264:
		if f.PacketizationMode > 1 {
			return TrackSpec{}, false // interleaved mode: not in WebRTC
		}
		fmtp := fmt.Sprintf("level-asymmetry-allowed=1;packetization-mode=%d;profile-level-id=%s",
			f.PacketizationMode, profileLevelID(f, raw))
		return TrackSpec{Kind: webrtc.RTPCodecTypeVideo, Codec: codecParams(webrtc.MimeTypeH264, 90000, 0, fmtp, f)}, true
	case *format.Opus:
		fmtp := "minptime=10;useinbandfec=1"
		if f.ChannelCount == 2 {
			fmtp += ";stereo=1;sprop-stereo=1"
		}
		// WebRTC always signals opus/48000/2, whatever is actually sent.
		return TrackSpec{Kind: webrtc.RTPCodecTypeAudio, Codec: codecParams(webrtc.MimeTypeOpus, 48000, 2, fmtp, f)}, true
	case *format.G711:
		if f.SampleRate != 8000 || f.ChannelCount != 1 {
			return TrackSpec{}, false
		}
		mime := webrtc.MimeTypePCMA
		if f.MULaw {
			mime = webrtc.MimeTypePCMU
		}
		return TrackSpec{Kind: webrtc.RTPCodecTypeAudio, Codec: codecParams(mime, 8000, 1, "", f)}, true
	}
	return TrackSpec{}, false
}

func codecParams(mime string, clock uint32, channels uint16, fmtp string, f format.Format) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: mime, ClockRate: clock, Channels: channels, SDPFmtpLine: fmtp,
		},
		PayloadType: webrtc.PayloadType(f.PayloadType()),
	}
}

// profileLevelID takes profile-level-id from the source's fmtp, else derives
// it from the SPS in sprop-parameter-sets, else assumes constrained baseline.
func profileLevelID(f *format.H264, raw *psdp.MediaDescription) string {
	if raw != nil {
		pt := strconv.Itoa(int(f.PayloadTyp))
		for _, a := range raw.Attributes {
			if a.Key != "fmtp" {
				continue
			}
			v, ok := strings.CutPrefix(a.Value, pt+" ")
			if !ok {
				continue
			}
			for _, kv := range strings.Split(v, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(kv), "=")
				if strings.EqualFold(k, "profile-level-id") && isHex6(val) {
					return strings.ToLower(val)
				}
			}
		}
	}
	if len(f.SPS) >= 4 {
		return hex.EncodeToString(f.SPS[1:4])
	}
	return defaultProfileLevelID
}

func isHex6(s string) bool {
	if len(s) != 6 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// codecName names a rejected format for people: "AAC" rather than gortsplib's
// "MPEG-4 Audio", with the clock rate when G.711 is not 8 kHz mono.
func codecName(f format.Format) string {
	switch f := f.(type) {
	case *format.MPEG4Audio, *format.MPEG4AudioLATM:
		return "AAC"
	case *format.G711:
		return fmt.Sprintf("%s/%d/%d", map[bool]string{true: "PCMU", false: "PCMA"}[f.MULaw], f.SampleRate, f.ChannelCount)
	case *format.H264:
		return fmt.Sprintf("H264 packetization-mode=%d", f.PacketizationMode)
	}
	return f.Codec()
}

// outputFormat builds the RTSP format a reader sees for a published track,
// from the track's WebRTC codec parameters, with our own payload type.
// It returns an error for codecs an RTSP player cannot be given (VP8 and VP9
// have RTSP payload formats too, so they are served as well).
func outputFormat(c webrtc.RTPCodecParameters, pt uint8) (format.Format, string, error) {
	var rtpMap, mediaType string
	mime := strings.ToLower(c.MimeType)
	switch mime {
	case strings.ToLower(webrtc.MimeTypeH264):
		rtpMap, mediaType = "H264/90000", "video"
	case strings.ToLower(webrtc.MimeTypeVP8):
		rtpMap, mediaType = "VP8/90000", "video"
	case strings.ToLower(webrtc.MimeTypeVP9):
		rtpMap, mediaType = "VP9/90000", "video"
	case strings.ToLower(webrtc.MimeTypeOpus):
		rtpMap, mediaType = "opus/48000/2", "audio"
	case strings.ToLower(webrtc.MimeTypePCMU):
		rtpMap, mediaType, pt = "PCMU/8000", "audio", 0
	case strings.ToLower(webrtc.MimeTypePCMA):
		rtpMap, mediaType, pt = "PCMA/8000", "audio", 8
	default:
		return nil, "", fmt.Errorf("%w: %s cannot be served over RTSP", ErrUnsupportedCodec, c.MimeType)
	}
	pts := strconv.Itoa(int(pt))
	md := &psdp.MediaDescription{
		MediaName:  psdp.MediaName{Media: mediaType, Protos: []string{"RTP", "AVP"}, Formats: []string{pts}},
		Attributes: []psdp.Attribute{{Key: "rtpmap", Value: pts + " " + rtpMap}},
	}
	if c.SDPFmtpLine != "" {
		md.Attributes = append(md.Attributes, psdp.Attribute{Key: "fmtp", Value: pts + " " + c.SDPFmtpLine})
	}
	f, err := format.Unmarshal(md, pts)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %s: %w", ErrUnsupportedCodec, c.MimeType, err)
	}
	return f, mediaType, nil
}
