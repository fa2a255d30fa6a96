package forward

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/sfu/track"
)

// TestStoppedLayerKeepsItsPrice: a layer the publisher stops sending (dynacast
// switched it off) is priced at what it cost while it arrived, not at its
// decaying rate — otherwise it looks almost free for a while and then never
// published, and no subscriber would ever ask for it again.
func TestStoppedLayerKeepsItsPrice(t *testing.T) {
	up := NewUpTrack(UpTrackConfig{
		Info: track.Info{SID: "TR_price", Kind: webrtc.RTPCodecTypeVideo, Simulcast: true,
			Codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}},
		Layers: MaxLayers,
	})
	t.Cleanup(up.Close)
	s := newVP8Stream(MaxLayers)
	for range 40 { // 1.2 s of all three layers
		s.writeRound(up)
		time.Sleep(30 * time.Millisecond)
	}
	time.Sleep(2 * monitorEvery)
	top := up.LayerBitrate(2)
	if top == 0 || up.ActiveLayers() != 0b111 {
		t.Fatalf("test setup: top layer %d bit/s, active %03b", top, up.ActiveLayers())
	}
	// Nothing arrives any more: after 3 s the decaying rate is ~1 % of it.
	time.Sleep(3 * time.Second)
	if up.ActiveLayers() != 0 {
		t.Fatalf("layers still active after 3 s of silence: %03b", up.ActiveLayers())
	}
	if got := up.LayerBitrate(2); got < top/2 {
		t.Errorf("stopped top layer priced %d bit/s, want about what it cost (%d)", got, top)
	}
}
