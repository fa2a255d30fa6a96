package testmedia

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
)

// H264Packets encodes secs of 640x360 25 fps test pattern with x264 into an
// Annex-B file, then packetizes it with pion's H.264 payloader (1200-byte
// MTU, marker on the last packet of each frame) — real encoder output,
// without waiting in real time.
func H264Packets(t testing.TB, secs string) []*rtp.Packet {
	t.Helper()
	f := filepath.Join(t.TempDir(), "v.h264")
	args := append([]string{"-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", secs},
		EncoderArgs["h264"]...)
	args = append(args, "-bsf:v", "h264_metadata=aud=insert", "-f", "h264", f)
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	in, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := h264reader.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	pk := rtp.NewPacketizer(1200, 96, 0x1234, &codecs.H264Payloader{}, rtp.NewFixedSequencer(1000), 90000)
	var out []*rtp.Packet
	var au []byte
	flush := func() {
		if len(au) > 0 {
			out = append(out, pk.Packetize(au, 3600)...)
			au = nil
		}
	}
	for {
		nal, err := r.NextNAL()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if nal.UnitType == h264reader.NalUnitTypeAUD {
			flush()
			continue
		}
		au = append(au, 0, 0, 0, 1)
		au = append(au, nal.Data...)
	}
	flush()
	return out
}
