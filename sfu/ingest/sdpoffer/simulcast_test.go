package sdpoffer

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
)

// simulcastOffer is seedOffer with the video section's rid lines replaced.
func simulcastOffer(lines ...string) string {
	return strings.Replace(seedOffer, "a=rtpmap:96 VP8/90000\r\na=sendonly",
		"a=rtpmap:96 VP8/90000\r\na=sendonly\r\n"+strings.Join(lines, "\r\n"), 1)
}

func rids(ls []Layer) string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.RID
	}
	return strings.Join(out, ",")
}

// TestParseSimulcast: layers come out lowest quality first, whatever the
// encoder's spelling; malformed simulcast is refused with its reason.
func TestParseSimulcast(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  string // rids low → high; "" for a single stream
	}{
		{"livekit q;h;f", []string{"a=rid:q send", "a=rid:h send", "a=rid:f send", "a=simulcast:send q;h;f"}, "q,h,f"},
		{"listed high first", []string{"a=rid:f send", "a=rid:q send", "a=simulcast:send f;q"}, "q,f"},
		{"OBS 0;1;2 (0 is full size)", []string{"a=rid:0 send", "a=rid:1 send", "a=rid:2 send", "a=simulcast:send 0;1;2"}, "2,1,0"},
		{"restrictions decide", []string{"a=rid:a send max-width=1280;max-height=720", "a=rid:b send max-width=320;max-height=180",
			"a=simulcast:send a;b"}, "b,a"},
		{"bitrates decide", []string{"a=rid:x send max-br=2000000", "a=rid:y send max-br=300000", "a=simulcast:send x;y"}, "y,x"},
		{"unknown names: preference order", []string{"a=rid:hd send", "a=rid:sd send", "a=simulcast:send hd;sd"}, "sd,hd"},
		{"paused and alternatives", []string{"a=rid:l send", "a=rid:m send", "a=rid:h send", "a=simulcast:send l;~m,h"}, "l,m"},
		{"rid lines without a=simulcast", []string{"a=rid:q send", "a=rid:h send"}, "q,h"},
		{"recv rids ignored", []string{"a=rid:q recv", "a=rid:h recv", "a=simulcast:recv q;h"}, ""},
		{"one layer is a single stream", []string{"a=rid:f send", "a=simulcast:send f"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Parse([]byte(simulcastOffer(tc.lines...)))
			if err != nil {
				t.Fatal(err)
			}
			if got := rids(o.Media[0].Layers); got != tc.want {
				t.Fatalf("layers %q, want %q", got, tc.want)
			}
		})
	}
	o, err := Parse([]byte(simulcastOffer("a=rid:q send max-width=320;max-height=180", "a=rid:f send max-width=1280;max-height=720",
		"a=simulcast:send q;f")))
	if err != nil {
		t.Fatal(err)
	}
	vl := VideoLayers(o.Media[0].Layers)
	if len(vl) != 2 || vl[0].Quality != livekit.VideoQuality_LOW || vl[1].Quality != livekit.VideoQuality_MEDIUM ||
		vl[0].Width != 320 || vl[1].Height != 720 {
		t.Fatalf("video layers %v", vl)
	}

	for name, tc := range map[string]struct {
		lines  []string
		reason string
	}{
		"undeclared rid": {[]string{"a=rid:q send", "a=simulcast:send q;h"}, `rid "h" that no a=rid line declares`},
		"duplicate rid":  {[]string{"a=rid:q send", "a=rid:q send"}, "declared twice"},
		"listed twice":   {[]string{"a=rid:q send", "a=rid:h send", "a=simulcast:send q;q"}, "twice"},
		"four layers":    {[]string{"a=rid:0 send", "a=rid:1 send", "a=rid:2 send", "a=rid:3 send", "a=simulcast:send 0;1;2;3"}, "at most 3"},
		"bad rid":        {[]string{"a=rid:q! send"}, "malformed a=rid"},
		"bad direction":  {[]string{"a=rid:q sideways"}, "malformed a=rid"},
		"bad list":       {[]string{"a=rid:q send", "a=simulcast:send"}, "malformed a=simulcast"},
		"two lists":      {[]string{"a=rid:q send", "a=simulcast:send q", "a=simulcast:send q"}, "more than one"},
		"empty stream":   {[]string{"a=rid:q send", "a=simulcast:send q;;"}, "malformed a=simulcast"},
	} {
		_, err := Parse([]byte(simulcastOffer(tc.lines...)))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: %v, want ErrInvalid with %q", name, err, tc.reason)
		}
	}
	audio := strings.Replace(seedOffer, "a=rtpmap:111 opus/48000/2\r\na=sendonly",
		"a=rtpmap:111 opus/48000/2\r\na=sendonly\r\na=rid:a send\r\na=rid:b send\r\na=simulcast:send a;b", 1)
	if _, err := Parse([]byte(audio)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "only video") {
		t.Errorf("audio simulcast: %v", err)
	}
}

// TestAnswerSimulcast: the SFU's publisher side accepts every offered
// layer (a=simulcast:recv with all rids in the answer).
func TestAnswerSimulcast(t *testing.T) {
	offer := seedOffers()[2]
	if _, err := Parse([]byte(offer)); err != nil {
		t.Fatal(err)
	}
	pc, err := publisherAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ans, err := Answer(context.Background(), pc, offer, Options{Timeout: fuzzNegotiateTimeout})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ans, "a=simulcast:recv q;h;f") || AcceptedSections(ans, true) != 2 {
		t.Fatalf("answer:\n%s", ans)
	}
}

// TestAnswerGivesUp: when pion's side of the negotiation does not return
// (here: a WHEP track hook that blocks), Answer still returns at its bound
// with ErrTimeout, and the peer connection is closed once the stuck call
// comes back.
func TestAnswerGivesUp(t *testing.T) {
	pc, err := publisherAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock()
	_, err = Answer(context.Background(), pc, seedOffer, Options{
		Timeout:   100 * time.Millisecond,
		AddTracks: func() error { <-release; return nil },
	})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	if st := pc.ConnectionState(); st == webrtc.PeerConnectionStateClosed {
		t.Fatal("closed while pion was still inside the negotiation")
	}
	unblock()
	deadline := time.Now().Add(30 * time.Second) // generous: only a hang fails this
	for pc.ConnectionState() != webrtc.PeerConnectionStateClosed {
		if time.Now().After(deadline) {
			t.Fatal("abandoned peer connection never closed")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A cancelled request ends the negotiation as well.
	pc2, err := publisherAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc2.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Answer(ctx, pc2, seedOffer, Options{Timeout: fuzzNegotiateTimeout, AddTracks: func() error {
		<-ctx.Done()
		return ctx.Err()
	}}); !errors.Is(err, ErrCancelled) && !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
