package rtsp

import (
	"errors"
	"strings"
	"testing"

	"github.com/livekit/protocol/livekit"
)

var pathCases = []struct {
	in   string
	want Path
	err  string
}{
	{"/room1/teacher", Path{Room: "room1", Participant: "teacher"}, ""},
	{"/room1/teacher/", Path{Room: "room1", Participant: "teacher"}, ""},
	{"/r/p/camera", Path{Room: "r", Participant: "p", View: ViewCamera}, ""},
	{"/r/p/whiteboard", Path{Room: "r", Participant: "p", View: ViewWhiteboard}, ""},
	{"/a.b_c-d~e@f/x", Path{Room: "a.b_c-d~e@f", Participant: "x"}, ""},
	{"", Path{}, "must start with /"},
	{"room/p", Path{}, "must start with /"},
	{"/", Path{}, "not /<room>/<participant>"},
	{"/room", Path{}, "not /<room>/<participant>"},
	{"/r/p/camera/x", Path{}, "not /<room>/<participant>"},
	{"/r//p", Path{}, "empty segment"},
	{"/../p", Path{}, "dot segment"},
	{"/r/p%20q", Path{}, "not allowed"},
	{"/r/p q", Path{}, "not allowed"},
	{"/r/p/sideways", Path{}, "unknown view"},
	{"/" + strings.Repeat("x", 129) + "/p", Path{}, "longer than 128"},
}

func TestParsePath(t *testing.T) {
	for _, tc := range pathCases {
		got, err := ParsePath(tc.in)
		if tc.err != "" {
			if err == nil || !errors.Is(err, ErrBadPath) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: want error %q, got %v", tc.in, tc.err, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v, %v", tc.in, got, err)
		}
		if back, err := ParsePath(got.String()); err != nil || back != got {
			t.Errorf("%q: round trip %+v, %v", tc.in, back, err)
		}
	}
}

func FuzzParsePath(f *testing.F) {
	for _, tc := range pathCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ParsePath(in)
		if err != nil {
			return
		}
		// anything accepted addresses exactly one participant and round-trips
		if p.Room == "" || p.Participant == "" || strings.ContainsAny(p.Room+p.Participant, "/%? ") {
			t.Fatalf("%q accepted as %+v", in, p)
		}
		if back, err := ParsePath(p.String()); err != nil || back != p {
			t.Fatalf("%q: round trip %+v, %v", in, back, err)
		}
	})
}

const sdpFFmpegH264Opus = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=No Name\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n" +
	"a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z0LADdkBQfsBEAAAAwAQAAADAyDxQqSA,aMuDyyA=; profile-level-id=42C00D\r\n" +
	"a=control:streamid=0\r\n" +
	"m=audio 0 RTP/AVP 97\r\na=rtpmap:97 opus/48000/2\r\na=fmtp:97 sprop-stereo=0\r\na=control:streamid=1\r\n"

const sdpCameraAAC = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\n" +
	"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:trackID=0\r\n" +
	"m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/2\r\n" +
	"a=fmtp:97 streamtype=5; profile-level-id=1; mode=AAC-hbr; sizelength=13; indexlength=3; indexdeltalength=3; config=1190\r\n" +
	"a=control:trackID=1\r\n" +
	"m=application 0 RTP/AVP 107\r\na=rtpmap:107 vnd.onvif.metadata/90000\r\na=control:trackID=2\r\n"

const sdpTwoVideosPCMU = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=s\r\nt=0 0\r\n" +
	"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=0\r\n" +
	"m=video 0 RTP/AVP 98\r\na=rtpmap:98 H264/90000\r\na=fmtp:98 packetization-mode=1;profile-level-id=640028\r\na=control:trackID=1\r\n" +
	"m=audio 0 RTP/AVP 0\r\na=control:trackID=2\r\n"

func TestPlanTracks(t *testing.T) {
	cases := []struct {
		name    string
		sdp     string
		strict  bool
		want    []string // name:mime:fmtp-substring
		skipped []string
		err     error
		errText string
	}{
		{name: "ffmpeg h264+opus", sdp: sdpFFmpegH264Opus, strict: true, want: []string{
			"camera:video/H264:profile-level-id=42c00d", "audio:audio/opus:minptime=10"}},
		{name: "camera aac strict", sdp: sdpCameraAAC, strict: true, err: ErrUnsupportedCodec, errText: "unsupported codec AAC"},
		{name: "camera aac lenient", sdp: sdpCameraAAC, want: []string{"camera:video/H264:profile-level-id=42e01f"},
			skipped: []string{"AAC", "application"}},
		{name: "two videos and pcmu", sdp: sdpTwoVideosPCMU, strict: true, want: []string{
			"camera:video/H264:packetization-mode=0", "whiteboard:video/H264:profile-level-id=640028", "audio:audio/PCMU:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			desc, raw, err := parseSDP([]byte(tc.sdp))
			if err != nil {
				t.Fatal(err)
			}
			plan, err := planTracks(desc, raw, tc.strict)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("want %v (%q), got %v", tc.err, tc.errText, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.tracks) != len(tc.want) {
				t.Fatalf("got %d tracks, want %d", len(plan.tracks), len(tc.want))
			}
			for i, w := range tc.want {
				parts := strings.SplitN(w, ":", 3)
				sp := plan.tracks[i].spec
				if sp.Name != parts[0] || sp.Codec.MimeType != parts[1] || !strings.Contains(sp.Codec.SDPFmtpLine, parts[2]) {
					t.Errorf("track %d: %s %s %q, want %s", i, sp.Name, sp.Codec.MimeType, sp.Codec.SDPFmtpLine, w)
				}
			}
			if strings.Join(plan.skipped, ",") != strings.Join(tc.skipped, ",") {
				t.Errorf("skipped %v, want %v", plan.skipped, tc.skipped)
			}
			if len(plan.tracks) > 1 && plan.tracks[1].spec.Source == livekit.TrackSource_UNKNOWN {
				t.Error("unknown source")
			}
		})
	}
	if _, _, err := parseSDP([]byte("v=0\r\nm=banana\r\n")); !errors.Is(err, ErrBadSDP) {
		t.Fatalf("bad SDP: %v", err)
	}
}

func FuzzSDP(f *testing.F) {
	for _, s := range []string{sdpFFmpegH264Opus, sdpCameraAAC, sdpTwoVideosPCMU, "v=0\r\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		desc, raw, err := parseSDP(body)
		if err != nil {
			return
		}
		for _, strict := range []bool{true, false} {
			plan, err := planTracks(desc, raw, strict)
			if err != nil {
				continue
			}
			for _, tr := range plan.tracks {
				if tr.spec.Codec.MimeType == "" || tr.spec.Source == livekit.TrackSource_UNKNOWN {
					t.Fatalf("bad spec %+v", tr.spec)
				}
				// what we publish must be servable back over RTSP
				if _, _, err := outputFormat(tr.spec.Codec, 96); err != nil {
					t.Fatalf("published codec not servable: %v", err)
				}
			}
		}
	})
}
