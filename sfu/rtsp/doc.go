// Package rtsp is classcast's RTSP gateway, built on gortsplib: RTSP
// publishers and cameras become SFU participants, and SFU participants can
// be played by VLC, ffplay and ffprobe. It is a library; the server wires it
// to the SFU through the small Host and Authenticator interfaces (host.go).
//
// # Paths
//
//	rtsp://host:8554/<room>/<name>             ANNOUNCE/RECORD: publish as participant <name>
//	rtsp://host:8554/<room>/<participant>      DESCRIBE/PLAY: all of its tracks
//	rtsp://host:8554/<room>/<participant>/camera      camera video + microphone
//	rtsp://host:8554/<room>/<participant>/whiteboard  screen-share (whiteboard) video + its audio
//
// The whole-participant path carries the whiteboard as a second video media
// after the camera and audio; players that show one video (VLC, ffplay) show
// the camera, so the /whiteboard view exists to watch the board alone.
// Segments allow [A-Za-z0-9._~@-] only. Unknown participants are 404, bad
// paths 400. A newer publisher on a path replaces the older one (an encoder
// reconnecting after a network drop must not wait for its dead session).
//
// # Authentication
//
// The user name is free; the password is a LiveKit access token or a
// per-room stream key, checked by the Authenticator for publishing and for
// reading. A token may also be given as the URL query ?token=<JWT>: ffmpeg
// (and libavformat players) copy user:password into a 128-byte buffer, too
// small for a token, so with them a token only works that way. Basic and Digest-MD5 are offered. Digest never reveals the
// password, so only stream keys (Authenticator.DigestSecrets) work with it;
// set ServerConfig.BasicOnly where clients use tokens (ffmpeg picks Digest
// whenever offered). Wrong credentials are 401 and close the connection.
//
// # Codecs
//
// H.264 (packetization-mode 0 or 1), Opus, PCMU and PCMA pass through
// untouched. The H.264 track's profile-level-id and packetization-mode come
// from the source's fmtp (else from the SPS in sprop-parameter-sets, else
// 42e01f is assumed). SPS/PPS are cached from the SDP and the stream and put
// in-band (one STAP-A, or single NAL units in mode 0) before every IDR that
// lacks them — ffmpeg and many cameras send them only in the SDP, which a
// WebRTC subscriber never sees.
//
// Everything else is refused with a reason naming the supported codecs: RTSP
// 415 for a publisher; for a pull source, unsupported media are skipped
// (listed in SourceState.Skipped) and the source fails only when nothing
// usable remains. AAC, the common case, is refused rather than transcoded:
// there is no pure-Go AAC decoder worth trusting. A later option can pipe the
// AAC elementary stream through `ffmpeg -f aac -i pipe:0 -c:a libopus -f
// ogg pipe:1` (one subprocess per track, supervised like a Source, ~1–2 % of
// a core) and republish the Opus packets; until then publishers use
// `-c:a libopus`.
//
// # Keyframe requests
//
// RTSP has no standard keyframe request. Producer.OnKeyframeRequest is
// answered with an RTCP PLI to the publisher or camera: GStreamer's rtpbin
// honours it, ffmpeg and most cameras ignore it, so the encoder's GOP length
// bounds how long a new subscriber waits. A pull source is deliberately not
// reconnected to force a keyframe: that costs every viewer seconds of video.
//
// # Output
//
// Readers get one shared gortsplib stream per participant view, fed by a
// track.RTPWriter attached to each published track. RTP is forwarded as is;
// only the payload type is ours, header extensions are dropped (their IDs
// belong to WebRTC negotiations), and gortsplib sets the SSRC and sends RTCP
// sender reports, timed from the publisher's sender reports when the SFU
// provides them (track.SenderReportWriter). A PLAY requests a keyframe. The
// output detaches OutputIdle after its last reader leaves, and disconnects
// its readers when the participant leaves or changes tracks.
//
// # Pull sources
//
// A Source keeps one camera URL published as a participant, reconnecting
// with capped, jittered exponential backoff when it drops or stalls (no
// packet for StallTimeout); the participant stays published across
// reconnects when the codecs are unchanged, with SSRC, sequence numbers and
// timestamps continued. A Manager holds the sources (Add/Remove/Get/List)
// and exports their state as prometheus metrics.
package rtsp
