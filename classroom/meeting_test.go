package classroom_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"go.uber.org/goleak"

	"github.com/classcast/classcast/classroom"
	client "github.com/classcast/classcast/client-sdk/go"
)

// activeAt returns the speakers p currently believes active (applying
// speakers_changed deltas in order, as livekit-client does).
func activeAt(p *peer) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	act := map[string]bool{}
	for _, ev := range p.speakers {
		for _, s := range ev.speakers {
			if s.Active {
				act[s.Sid] = true
			} else {
				delete(act, s.Sid)
			}
		}
	}
	out := make([]string, 0, len(act))
	for sid := range act {
		out = append(out, sid)
	}
	sort.Strings(out)
	return out
}

func sids(ps ...*peer) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.sid())
	}
	sort.Strings(out)
	return out
}

// TestMeetingSpeakers: 40 participants publish synthetic Opus with RFC 6464
// levels; speakers_changed follows who is loud. Host controls: mute all,
// spotlight, hand raise/lower, end meeting (everyone gets a leave).
func TestMeetingSpeakers(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	n := startNode(t)
	proxy := startLevelProxy(t, n.URL())
	ctx, cancel := context.WithCancel(context.Background())
	var pumps sync.WaitGroup
	defer pumps.Wait()
	defer cancel()
	const room, count = "meeting", 40

	host := join(t, ctx, proxy.URL(), room, who{identity: "host", role: classroom.RoleMaster, mode: classroom.ModeMeeting},
		client.WithAutoSubscribe(false))
	peers := make([]*peer, count)
	srcs := make([]*audioSource, count)
	mics := make([]*client.LocalTrack, count)
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 6)
	for i := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			// Not subscribing keeps 40×39 audio forwards off a 2-core box;
			// speaker detection needs only what is published.
			p := join(t, ctx, proxy.URL(), room, who{identity: fmt.Sprintf("p%02d", i), role: classroom.RoleParticipant},
				client.WithAutoSubscribe(false))
			srcs[i] = newAudioSource(p.id)
			mics[i] = publishAudio(t, ctx, p, srcs[i])
			peers[i] = p
		}()
	}
	wg.Wait()
	for _, s := range srcs {
		// 10 packets/s (100 ms frames): 400 packets/s in, CPU-light.
		s.run(ctx, &pumps, 100*time.Millisecond, audioLevelExtID)
	}
	t.Logf("%d participants joined and published in %v", count, time.Since(start).Round(time.Millisecond))
	host.waitState("meeting mode", func(s *classroom.State) bool { return s.Mode == classroom.ModeMeeting })

	follow := func(loud ...int) time.Duration {
		t.Helper()
		loudSet := map[int]bool{}
		for _, i := range loud {
			loudSet[i] = true
		}
		var want []*peer
		begin := time.Now()
		for i, s := range srcs {
			if loudSet[i] {
				s.setLevel(uint8(20 + 5*len(want))) // -20, -25 … dBov
				want = append(want, peers[i])
			} else {
				s.setLevel(127)
			}
		}
		w := sids(want...)
		waitFor(t, 8*time.Second, fmt.Sprintf("speakers %v at host and p39", loud), func() bool {
			return fmt.Sprint(activeAt(host)) == fmt.Sprint(w) && fmt.Sprint(activeAt(peers[39])) == fmt.Sprint(w)
		})
		return time.Since(begin)
	}
	d1 := follow(3, 17)
	d2 := follow(25)
	d3 := follow(8, 9, 30)
	d4 := follow()
	t.Logf("speakers_changed followed: {3,17} in %v, {25} in %v, {8,9,30} in %v, silence in %v",
		d1.Round(time.Millisecond), d2.Round(time.Millisecond), d3.Round(time.Millisecond), d4.Round(time.Millisecond))
	// Top-N: five loud participants → the three loudest are named.
	for i, s := range srcs {
		if i < 5 {
			s.setLevel(uint8(10 + 8*i))
		}
	}
	waitFor(t, 8*time.Second, "top 3", func() bool { return fmt.Sprint(activeAt(host)) == fmt.Sprint(sids(peers[0], peers[1], peers[2])) })
	host.mu.Lock()
	events := len(host.speakers)
	host.mu.Unlock()
	t.Logf("host received %d speakers_changed messages", events)

	// Host controls.
	if r := peers[5].do(classroom.ReqHandRaise, nil); !r.OK {
		t.Fatalf("hand: %+v", r)
	}
	host.waitState("hand", func(s *classroom.State) bool { return len(s.Hands) == 1 && s.Hands[0].Identity == "p05" })
	if r := peers[6].do(classroom.ReqHandLower, map[string]any{"identity": "p05"}); r.OK || r.Error != "not_allowed" {
		t.Errorf("participant lowered another's hand: %+v", r)
	}
	if r := host.do(classroom.ReqHandLower, map[string]any{"identity": "p05"}); !r.OK {
		t.Errorf("host lower: %+v", r)
	}
	if r := host.do(classroom.ReqSpotlight, map[string]any{"identity": "p07"}); !r.OK {
		t.Errorf("spotlight: %+v", r)
	}
	peers[0].waitState("spotlight", func(s *classroom.State) bool { return s.Spotlight == "p07" && len(s.Hands) == 0 })
	peers[0].draw(map[string]any{"op": "stroke", "page": 0, "stroke": stroke("m1", 4)})
	waitFor(t, 5*time.Second, "meeting whiteboard from a participant", func() bool {
		host.mu.Lock()
		defer host.mu.Unlock()
		return len(host.board) == 1 && host.board[0]["by"] == "p00"
	})
	if r := peers[1].do(classroom.ReqMuteAll, nil); r.OK || r.Error != "not_allowed" {
		t.Errorf("participant mute_all: %+v", r)
	}
	if r := host.do(classroom.ReqMuteAll, nil); !r.OK {
		t.Fatalf("mute_all: %+v", r)
	}
	waitFor(t, 5*time.Second, "everyone muted by the server", func() bool {
		for _, lt := range mics {
			if !lt.Muted() {
				return false
			}
		}
		return true
	})
	waitFor(t, 8*time.Second, "no speakers once muted", func() bool { return len(activeAt(host)) == 0 })

	if r := peers[2].do(classroom.ReqMeetingEnd, nil); r.OK {
		t.Error("participant ended the meeting")
	}
	if r := host.do(classroom.ReqMeetingEnd, nil); !r.OK {
		t.Fatalf("meeting.end: %+v", r)
	}
	for _, p := range append(peers, host) {
		select {
		case <-p.room.Done():
		case <-time.After(30 * time.Second): // generous: a loaded CI box runs 41 clients here
			t.Fatalf("%s still connected 30 s after meeting.end (err %v)", p.id, p.room.Err())
		}
		var le *client.LeaveError
		err := p.room.Err()
		if !errors.As(err, &le) || (le.Reason != livekit.DisconnectReason_ROOM_DELETED && le.Reason != livekit.DisconnectReason_ROOM_CLOSED) {
			t.Errorf("%s ended with %v, want a room closed/deleted leave", p.id, err)
		}
	}
}
