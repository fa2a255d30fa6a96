package room

import "github.com/livekit/protocol/livekit"

// Hooks let a layer above the SFU (the classroom rules) observe a room and
// steer who receives what. Every method is called on the room's loop, so an
// implementation may keep per-room state without locks, and must not block.
type Hooks interface {
	// Joined is called after a participant was admitted and told so.
	Joined(r *Room, p *Participant)
	// Left is called after a participant was removed.
	Left(r *Room, p *Participant)
	// TrackPublished is called when a track becomes visible.
	TrackPublished(r *Room, p *Participant, t *livekit.TrackInfo)
	// MaySubscribe filters automatic and explicit subscriptions: false
	// means sub must not receive pub's track.
	MaySubscribe(sub, pub *Participant, t *livekit.TrackInfo) bool
	// Data sees every data packet before it is routed; returning true means
	// the hook consumed it and it is not forwarded.
	Data(r *Room, from *Participant, dp *livekit.DataPacket) bool
	// Closed is called once when the room closes.
	Closed(r *Room)
}

// NoHooks is the LiveKit default: everyone may receive everything.
type NoHooks struct{}

// Joined implements Hooks.
func (NoHooks) Joined(*Room, *Participant) {}

// Left implements Hooks.
func (NoHooks) Left(*Room, *Participant) {}

// TrackPublished implements Hooks.
func (NoHooks) TrackPublished(*Room, *Participant, *livekit.TrackInfo) {}

// MaySubscribe implements Hooks.
func (NoHooks) MaySubscribe(_, _ *Participant, _ *livekit.TrackInfo) bool { return true }

// Data implements Hooks.
func (NoHooks) Data(*Room, *Participant, *livekit.DataPacket) bool { return false }

// Closed implements Hooks.
func (NoHooks) Closed(*Room) {}

// Do runs f on the room's loop (for hooks' timers and admin calls) and waits.
func (r *Room) Do(f func()) error { return r.do(f) }

// Post runs f on the room's loop without waiting.
func (r *Room) Post(f func()) { r.post(f) }

// Reconcile re-applies the subscription rules: every participant that
// subscribes automatically gets exactly the tracks MaySubscribe allows.
// Call it on the room loop after a rule input changed (e.g. stage).
func (r *Room) Reconcile() {
	for _, sub := range r.participants {
		if !sub.autoSub || !sub.Grants().GetCanSubscribe() {
			continue
		}
		have := map[string]bool{}
		for _, sid := range sub.Subscriptions() {
			have[sid] = true
		}
		for _, pub := range r.participants {
			if pub == sub {
				continue
			}
			for _, t := range pub.Info().Tracks {
				allowed := r.hooks.MaySubscribe(sub, pub, t)
				switch {
				case allowed && !have[t.Sid] && !sub.optedOut[t.Sid]:
					// Not what the client turned down itself (LiveKit:
					// auto-subscribe never overrides an explicit choice).
					sub.subscribe(pub, t.Sid, false)
				case !allowed && have[t.Sid]:
					sub.unsubscribe(t.Sid)
				}
			}
		}
	}
}

// ParticipantsOnLoop lists participants; call only on the room loop (hooks).
func (r *Room) ParticipantsOnLoop() []*Participant { return r.sorted() }

// SendDataOnLoop delivers a server packet to identities (all when empty);
// call only on the room loop.
func (r *Room) SendDataOnLoop(dp *livekit.DataPacket, to ...string) {
	b, err := marshalData(dp)
	if err != nil {
		return
	}
	r.deliverLocked(nil, to, b, dp.Kind == livekit.DataPacket_RELIABLE)
}

// ChainHooks combines several hooks: everyone is told every event, a
// subscription needs every hook's consent, and a data packet is consumed when
// any hook consumes it (later hooks do not see it).
type ChainHooks []Hooks

// Joined implements Hooks.
func (c ChainHooks) Joined(r *Room, p *Participant) {
	for _, h := range c {
		h.Joined(r, p)
	}
}

// Left implements Hooks.
func (c ChainHooks) Left(r *Room, p *Participant) {
	for _, h := range c {
		h.Left(r, p)
	}
}

// TrackPublished implements Hooks.
func (c ChainHooks) TrackPublished(r *Room, p *Participant, t *livekit.TrackInfo) {
	for _, h := range c {
		h.TrackPublished(r, p, t)
	}
}

// MaySubscribe implements Hooks.
func (c ChainHooks) MaySubscribe(sub, pub *Participant, t *livekit.TrackInfo) bool {
	for _, h := range c {
		if !h.MaySubscribe(sub, pub, t) {
			return false
		}
	}
	return true
}

// Data implements Hooks.
func (c ChainHooks) Data(r *Room, from *Participant, dp *livekit.DataPacket) bool {
	for _, h := range c {
		if h.Data(r, from, dp) {
			return true
		}
	}
	return false
}

// Closed implements Hooks.
func (c ChainHooks) Closed(r *Room) {
	for _, h := range c {
		h.Closed(r)
	}
}
