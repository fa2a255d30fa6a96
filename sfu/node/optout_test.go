package node

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestAutoSubscribeRespectsOptOut: a client that auto-subscribes and then
// turns a track down itself (a classroom PC dropping the whiteboard video it
// draws from strokes) stays unsubscribed when the room re-applies automatic
// subscriptions (classroom rules do on every stage change), and gets the
// track again when it asks for it.
func TestAutoSubscribeRespectsOptOut(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	n := startNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	teacher := connect(t, ctx, n, "optout", "teacher", nil)
	publishLesson(t, ctx, &pumps, teacher)
	class := connect(t, ctx, n, "optout", "class-a", nil)
	waitFor(t, 10*time.Second, "class-a subscribed to the teacher's video", func() bool { return videoTrack(class) != nil })
	sid := videoTrack(class).SID
	rm, _ := n.Rooms().Get("optout")
	part, _ := rm.Participant("class-a")
	subscribed := func() bool { return slices.Contains(part.Subscriptions(), sid) }

	if err := class.UpdateSubscription([]string{sid}, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the server to drop the subscription", func() bool { return !subscribed() })
	if err := rm.Do(rm.Reconcile); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if subscribed() {
		t.Fatal("automatic subscription overrode the client's own unsubscribe")
	}
	if err := class.UpdateSubscription([]string{sid}, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the track again after the client asked", subscribed)
	// And an ordinary reconcile keeps it.
	if err := rm.Do(rm.Reconcile); err != nil {
		t.Fatal(err)
	}
	if !subscribed() {
		t.Fatal("reconcile dropped a track the client asked for")
	}
}
