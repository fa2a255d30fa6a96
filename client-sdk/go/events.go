package client

import (
	"sync"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
)

// Callbacks are the room's events. Every field is optional. All callbacks except OnRTP run one at a
// time, in the order the events happened, on the room's event goroutine, so they may call any Room
// method; a slow callback delays later events but never the signal or media path.
// Protobuf values handed to callbacks are copies the callee may keep.
type Callbacks struct {
	// OnSignal sees every SignalResponse before it is handled (a tap for tests).
	OnSignal func(*livekit.SignalResponse)

	OnParticipantConnected    func(*RemoteParticipant)
	OnParticipantDisconnected func(*RemoteParticipant)
	// OnParticipantUpdated fires for an accepted (newer version) update of a known participant.
	OnParticipantUpdated func(*RemoteParticipant)
	// OnLocalParticipantUpdated fires when the server updates our own ParticipantInfo.
	OnLocalParticipantUpdated func(*livekit.ParticipantInfo)

	OnTrackPublished   func(*RemoteParticipant, *livekit.TrackInfo)
	OnTrackUnpublished func(*RemoteParticipant, *livekit.TrackInfo)
	OnTrackMuted       func(p *RemoteParticipant, t *livekit.TrackInfo, muted bool)

	// OnTrackSubscribed fires when media of a subscribed track is set up on the subscriber PC.
	// Read RTP from RemoteTrack.Track (or RemoteTrack.ReadPacket) in your own goroutine,
	// unless Options.AutoDrain is set.
	OnTrackSubscribed   func(*RemoteTrack)
	OnTrackUnsubscribed func(*RemoteTrack)

	// OnLocalTrackPublished fires when TrackPublishedResponse arrives for one of our tracks.
	OnLocalTrackPublished func(*LocalTrack)
	// OnLocalTrackUnpublished fires when the server unpublished one of our tracks (track_unpublished).
	OnLocalTrackUnpublished func(*LocalTrack)
	// OnServerMute fires when the server mutes or unmutes one of our tracks (SignalResponse.mute).
	OnServerMute func(t *LocalTrack, muted bool)
	// OnSubscribedQualityUpdate is dynacast: which layers of our track anyone wants.
	OnSubscribedQualityUpdate func(*livekit.SubscribedQualityUpdate)

	OnSpeakersChanged              func([]*livekit.SpeakerInfo)
	OnConnectionQuality            func([]*livekit.ConnectionQualityInfo)
	OnStreamStateUpdate            func([]*livekit.StreamStateInfo)
	OnSubscriptionResponse         func(*livekit.SubscriptionResponse)
	OnRequestResponse              func(*livekit.RequestResponse)
	OnSubscriptionPermissionUpdate func(*livekit.SubscriptionPermissionUpdate)
	OnRoomUpdate                   func(*livekit.Room)
	// OnRefreshToken fires with a new token; the room already uses it for reconnects.
	OnRefreshToken func(token string)
	// OnLeave fires for every LeaveRequest from the server, before the room acts on its action.
	OnLeave func(*livekit.LeaveRequest)

	OnData func(DataMessage)

	// OnReconnecting fires when the signal connection dropped (reason) and the room starts to recover.
	OnReconnecting func(reason error)
	// OnReconnected fires after a resume (full=false) or a full rejoin (full=true).
	OnReconnected func(full bool)
	// OnDisconnected fires once when the room ends: nil reason after Close, *LeaveError after a server
	// leave, ErrReconnectFailed when recovery gave up.
	OnDisconnected func(reason error)

	// OnRTP is called per packet from the drain goroutine of each track (Options.AutoDrain only),
	// after the track's stats were updated. It must not block or keep pkt.
	OnRTP func(t *RemoteTrack, pkt *rtp.Packet)
}

// dispatcher runs queued event callbacks in order on one goroutine. The queue is unbounded so the
// signal loop never blocks on a slow callback.
type dispatcher struct {
	mu     sync.Mutex
	queue  []func()
	closed bool
	wake   chan struct{}
	done   chan struct{}
}

func newDispatcher() *dispatcher {
	d := &dispatcher{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go d.run()
	return d
}

func (d *dispatcher) post(fn func()) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.queue = append(d.queue, fn)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) run() {
	defer close(d.done)
	for {
		d.mu.Lock()
		q := d.queue
		d.queue = nil
		closed := d.closed
		d.mu.Unlock()
		for _, fn := range q {
			fn()
		}
		if closed && len(q) == 0 {
			return
		}
		if len(q) == 0 {
			<-d.wake
		}
	}
}

// close runs what is queued, then stops; it waits unless called from a callback (which would deadlock).
func (d *dispatcher) close(wait bool) {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
	if wait {
		<-d.done
	}
}
