package client

import (
	"context"
	"fmt"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"
)

// DataKind selects the data channel: Reliable (ordered, retransmitted) or Lossy (unordered, no retransmits).
type DataKind int

// Data channel kinds.
const (
	Reliable DataKind = iota
	Lossy
)

// DataMessage is a received user data packet.
type DataMessage struct {
	SenderIdentity string
	SenderSID      string
	Topic          string
	Payload        []byte
	Kind           DataKind
	// Packet is the whole DataPacket, for fields this struct does not surface.
	Packet *livekit.DataPacket
}

// dataChannels is the _reliable/_lossy pair of one peer connection.
type dataChannels struct {
	reliable, lossy *webrtc.DataChannel
}

func (d dataChannels) infos(target livekit.SignalTarget) []*livekit.DataChannelInfo {
	var out []*livekit.DataChannelInfo
	for _, dc := range []*webrtc.DataChannel{d.reliable, d.lossy} {
		if dc == nil || dc.ID() == nil {
			continue
		}
		out = append(out, &livekit.DataChannelInfo{Label: dc.Label(), Id: uint32(*dc.ID()), Target: target})
	}
	return out
}

// setupPublisher creates the publisher's data channels (as livekit-client does, before its first offer)
// and restarts ICE when the publisher's connection fails.
func (r *Room) setupPublisher(pub *transport) error {
	ordered, zero := false, uint16(0)
	rel, err := pub.pc.CreateDataChannel(reliableLabel, &webrtc.DataChannelInit{})
	if err != nil {
		return fmt.Errorf("client: create %s: %w", reliableLabel, err)
	}
	lossy, err := pub.pc.CreateDataChannel(lossyLabel, &webrtc.DataChannelInit{
		Ordered: &ordered, MaxRetransmits: &zero,
	})
	if err != nil {
		return fmt.Errorf("client: create %s: %w", lossyLabel, err)
	}
	// Without subscriber-primary the server sends data on these too.
	rel.OnMessage(func(m webrtc.DataChannelMessage) { r.handleDataMessage(m.Data, Reliable) })
	lossy.OnMessage(func(m webrtc.DataChannelMessage) { r.handleDataMessage(m.Data, Lossy) })
	r.mu.Lock()
	r.pubDC = dataChannels{reliable: rel, lossy: lossy}
	r.mu.Unlock()
	pub.pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		r.log.Debug("publisher ice", "state", s)
		if s == webrtc.ICEConnectionStateFailed && r.ctx.Err() == nil {
			if err := pub.negotiate(true); err != nil {
				r.log.Warn("publisher ice restart", "err", err)
			}
		}
	})
	return nil
}

func (r *Room) onSubscriberDataChannel(dc *webrtc.DataChannel) {
	kind := Reliable
	r.mu.Lock()
	switch dc.Label() {
	case reliableLabel:
		r.subDC.reliable = dc
	case lossyLabel:
		r.subDC.lossy = dc
		kind = Lossy
	default:
		r.mu.Unlock()
		r.log.Debug("ignoring data channel", "label", dc.Label())
		return
	}
	r.mu.Unlock()
	dc.OnMessage(func(m webrtc.DataChannelMessage) { r.handleDataMessage(m.Data, kind) })
}

func (r *Room) handleDataMessage(data []byte, kind DataKind) {
	pkt := &livekit.DataPacket{}
	if err := proto.Unmarshal(data, pkt); err != nil {
		r.log.Debug("bad data packet", "err", err)
		return
	}
	user := pkt.GetUser()
	cb := r.opts.Callbacks.OnData
	if user == nil || cb == nil {
		return
	}
	identity := pkt.GetParticipantIdentity()
	if identity == "" {
		identity = user.GetParticipantIdentity() //nolint:staticcheck // older servers fill only this
	}
	sid := pkt.GetParticipantSid()
	if sid == "" {
		sid = user.GetParticipantSid() //nolint:staticcheck // older servers fill only this
	}
	msg := DataMessage{
		SenderIdentity: identity, SenderSID: sid, Topic: user.GetTopic(), Payload: user.GetPayload(),
		Kind: kind, Packet: pkt,
	}
	r.events.post(func() { cb(msg) })
}

// SendData sends a user packet on the publisher's data channel of that kind, to destinationIdentities
// (everyone when empty), with an optional topic. Reliable packets carry an increasing sequence number.
// The first call negotiates the publisher connection if needed and waits for the channel to open.
func (r *Room) SendData(ctx context.Context, payload []byte, kind DataKind, destinationIdentities []string,
	topic string,
) error {
	if err := r.ensureOpen(); err != nil {
		return err
	}
	dc, err := r.publisherChannel(ctx, kind)
	if err != nil {
		return err
	}
	user := &livekit.UserPacket{Payload: payload}
	if topic != "" {
		user.Topic = &topic
	}
	r.mu.Lock()
	pkt := &livekit.DataPacket{
		Kind:                  livekit.DataPacket_Kind(kind), //nolint:staticcheck // servers still read it
		ParticipantIdentity:   r.local.GetIdentity(),
		DestinationIdentities: destinationIdentities,
		Value:                 &livekit.DataPacket_User{User: user},
	}
	if kind == Reliable {
		r.dataSeq++
		pkt.Sequence = r.dataSeq
	}
	r.mu.Unlock()
	data, err := proto.Marshal(pkt)
	if err != nil {
		return fmt.Errorf("client: encode data packet: %w", err)
	}
	if err := dc.Send(data); err != nil {
		return fmt.Errorf("client: send data: %w", err)
	}
	return nil
}

// publisherChannel returns the open publisher data channel of that kind, negotiating the publisher
// first if it never was.
func (r *Room) publisherChannel(ctx context.Context, kind DataKind) (*webrtc.DataChannel, error) {
	if err := r.ensurePublisher(); err != nil {
		return nil, err
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		r.mu.Lock()
		dc := r.pubDC.reliable
		if kind == Lossy {
			dc = r.pubDC.lossy
		}
		r.mu.Unlock()
		if dc != nil && dc.ReadyState() == webrtc.DataChannelStateOpen {
			return dc, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrDataChannelNotOpen, ctx.Err())
		case <-r.ctx.Done():
			return nil, ErrClosed
		case <-tick.C:
		}
	}
}

// ensurePublisher sends the publisher's first offer if it has never been negotiated.
func (r *Room) ensurePublisher() error {
	pub, _ := r.transports()
	if pub == nil {
		return ErrClosed
	}
	if pub.wasNegotiated() {
		return nil
	}
	return pub.negotiate(false)
}
