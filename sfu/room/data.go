package room

import (
	"time"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// maxDataPacket bounds one data message; larger ones are dropped (LiveKit
// clients chunk anything big into data streams).
const maxDataPacket = 64 << 10

// onDataMessage routes a DataPacket received on the publisher connection.
func (p *Participant) onDataMessage(b []byte, reliable bool) {
	if len(b) > maxDataPacket {
		p.room.cfg.Metrics.DataDropped.Inc()
		p.sendRequestError(livekit.RequestResponse_LIMIT_EXCEEDED, "data packet larger than 64 KiB dropped", nil)
		return
	}
	var dp livekit.DataPacket
	if err := proto.Unmarshal(b, &dp); err != nil {
		p.room.cfg.Metrics.DataDropped.Inc()
		p.sendRequestError(livekit.RequestResponse_INVALID_REQUEST, "malformed data packet dropped: "+err.Error(), nil)
		return
	}
	if !p.Grants().GetCanPublishData() {
		p.refuseData()
		return
	}
	// Never trust the sender's claims about who it is.
	dp.ParticipantIdentity = p.identity
	dp.ParticipantSid = p.sid //nolint:staticcheck // still read by older clients
	if u := dp.GetUser(); u != nil {
		u.ParticipantIdentity = p.identity //nolint:staticcheck
		u.ParticipantSid = p.sid           //nolint:staticcheck
		if len(dp.DestinationIdentities) == 0 {
			dp.DestinationIdentities = u.DestinationIdentities //nolint:staticcheck
		}
	}
	if dp.Kind == livekit.DataPacket_RELIABLE || reliable {
		dp.Kind = livekit.DataPacket_RELIABLE
	} else {
		dp.Kind = livekit.DataPacket_LOSSY
	}
	r := p.room
	r.post(func() {
		if r.participants[p.identity] != p || r.hooks.Data(r, p, &dp) {
			return
		}
		out, err := marshalData(&dp)
		if err != nil {
			return
		}
		r.deliverLocked(p, dp.DestinationIdentities, out, dp.Kind == livekit.DataPacket_RELIABLE)
	})
}

func marshalData(dp *livekit.DataPacket) ([]byte, error) { return proto.Marshal(dp) }

// deliverLocked sends to the named identities, or to everyone but the
// sender. Called on the room loop.
func (r *Room) deliverLocked(from *Participant, to []string, b []byte, reliable bool) {
	if len(to) > 0 {
		for _, id := range to {
			if p, ok := r.participants[id]; ok && p != from && !p.external {
				p.sub.sendData(b, reliable)
			}
		}
		return
	}
	for _, p := range r.participants {
		if p != from && !p.external {
			p.sub.sendData(b, reliable)
		}
	}
}

// SendData delivers a server-originated packet (RoomService.SendData).
func (r *Room) SendData(dp *livekit.DataPacket, to []string) error {
	b, err := marshalData(dp)
	if err != nil {
		return err
	}
	r.post(func() { r.deliverLocked(nil, to, b, dp.Kind == livekit.DataPacket_RELIABLE) })
	return nil
}

// refuseData tells the sender, at most every few seconds, that its data
// packets are dropped; a chatty client must not turn refusals into a flood.
func (p *Participant) refuseData() {
	p.room.cfg.Metrics.DataDropped.Inc()
	now := time.Now()
	p.mu.Lock()
	if now.Sub(p.lastDataRefusal) < 5*time.Second {
		p.mu.Unlock()
		return
	}
	p.lastDataRefusal = now
	p.mu.Unlock()
	p.sendRequestError(livekit.RequestResponse_NOT_ALLOWED, "token does not allow publishing data; packets dropped", nil)
}
