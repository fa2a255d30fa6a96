package node

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	client "github.com/classcast/classcast/client-sdk/go"
)

// TestResumeKeepsSubscriptions: the classroom's WebSocket drops; it resumes
// (ReconnectResponse, subscriber ICE restart) as the same participant and
// media keeps flowing on the same subscriptions.
func TestResumeKeepsSubscriptions(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	n := startNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	teacher := connect(t, ctx, n, "lesson", "teacher", nil)
	publishLesson(t, ctx, &pumps, teacher)

	var resumed, rejoined atomic.Int32
	cb := client.Callbacks{OnReconnected: func(full bool) {
		if full {
			rejoined.Add(1)
		} else {
			resumed.Add(1)
		}
	}}
	class := connect(t, ctx, n, "lesson", "class-1", nil, client.WithAutoDrain(), client.WithCallbacks(cb))
	waitFor(t, 10*time.Second, "video", func() bool { v := videoTrack(class); return v != nil && v.Stats().Frames > 10 })
	sid := class.LocalParticipant().GetSid()
	video := videoTrack(class)
	rm, _ := n.Rooms().Get("lesson")
	part, _ := rm.Participant("class-1")
	subsBefore := len(part.Subscriptions())

	class.SimulateDrop()
	waitFor(t, 10*time.Second, "resume", func() bool { return resumed.Load() == 1 })
	before := video.Stats().Frames
	waitFor(t, 10*time.Second, "video after resume", func() bool { return video.Stats().Frames > before+25 })
	if got := class.LocalParticipant().GetSid(); got != sid || rejoined.Load() != 0 {
		t.Errorf("participant sid %s → %s, %d full rejoins: want a resume of the same participant", sid, got, rejoined.Load())
	}
	if now, _ := rm.Participant("class-1"); now != part || len(now.Subscriptions()) != subsBefore {
		t.Errorf("server side participant or subscriptions changed across resume")
	}
}

// TestKilledSubscriberLeavesNothing: a classroom that vanishes without a
// leave is removed after the resume grace, and every goroutine it caused on
// the server ends.
func TestKilledSubscriberLeavesNothing(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	cfg := Defaults()
	cfg.Dev = true
	cfg.Port, cfg.RTC.UDPPort, cfg.RTC.TCPPort = 0, 0, 0
	cfg.Room.ResumeGrace = time.Second
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	n, err := Start(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close(context.Background()) })
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	teacher := connect(t, ctx, n, "lesson", "teacher", nil)
	publishLesson(t, ctx, &pumps, teacher)
	// Let the publisher's goroutines settle before taking the baseline.
	time.Sleep(time.Second)
	baseline := goleak.IgnoreCurrent()

	class, err := client.Connect(ctx, n.URL(), token(t, "lesson", "doomed", nil),
		client.WithAPI(loopbackAPI(t)), client.WithAutoDrain(), client.WithoutReconnect(), client.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "video", func() bool { v := videoTrack(class); return v != nil && v.Stats().Frames > 10 })
	class.SimulateDrop() // the signaling connection vanishes, no leave
	_ = class.Close()
	rm, _ := n.Rooms().Get("lesson")
	waitFor(t, 10*time.Second, "server removes the participant", func() bool {
		_, present := rm.Participant("doomed")
		return !present
	})
	var leak error
	for i := 0; i < 50; i++ {
		if leak = goleak.Find(baseline); leak == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("goroutines left behind by the killed subscriber: %v", leak)
}
