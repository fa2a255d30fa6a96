package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"

	"github.com/classcast/classcast/sfu/room"
	"github.com/classcast/classcast/sfu/rtsp"
	"github.com/classcast/classcast/sfu/track"
)

// Host adapts the room manager to rtsp.Host, and is what WHIP publishes
// through too: an ingest participant (kind INGRESS) in a room created on
// demand.
type Host struct {
	rooms *room.Manager
}

var _ rtsp.Host = (*Host)(nil)

// NewHost returns a Host publishing into rooms.
func NewHost(rooms *room.Manager) *Host { return &Host{rooms: rooms} }

// Publish implements rtsp.Host.
func (h *Host) Publish(ctx context.Context, roomName, identity, name string, specs []rtsp.TrackSpec) (rtsp.Publication, error) {
	tracks := make([]room.ExternalTrack, len(specs))
	for i, s := range specs {
		tracks[i] = room.ExternalTrack{Name: s.Name, Kind: s.Kind, Source: s.Source, Codec: s.Codec}
	}
	return h.PublishTracks(ctx, roomName, identity, name, tracks)
}

// PublishTracks publishes an INGRESS participant. A room that closes while
// the call runs (its last participant left a moment ago) is replaced by a
// fresh one: the manager forgets closed rooms.
func (h *Host) PublishTracks(ctx context.Context, roomName, identity, name string, tracks []room.ExternalTrack) (*Publication, error) {
	var lastErr error
	for range 3 {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("publish %s/%s: %w", roomName, identity, err)
		}
		r, err := h.rooms.GetOrCreate(roomName)
		if err != nil {
			return nil, fmt.Errorf("publish %s/%s: %w: %w", roomName, identity, ErrClosed, err)
		}
		pub, err := r.PublishExternal(identity, name, livekit.ParticipantInfo_INGRESS, tracks)
		if errors.Is(err, room.ErrRoomClosed) {
			lastErr = err
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("publish %s/%s: %w", roomName, identity, err)
		}
		return newPublication(r, pub), nil
	}
	return nil, fmt.Errorf("publish %s/%s: %w: %w", roomName, identity, ErrRoomGone, lastErr)
}

// Lookup implements rtsp.Host.
func (h *Host) Lookup(roomName, identity string) ([]track.Published, error) {
	r, ok := h.rooms.Get(roomName)
	if !ok {
		return nil, fmt.Errorf("%w: room %q: %w", rtsp.ErrNotFound, roomName, ErrNotFound)
	}
	tracks, err := r.Published(identity)
	if errors.Is(err, room.ErrNotFound) || errors.Is(err, room.ErrRoomClosed) {
		return nil, fmt.Errorf("%w: participant %q in room %q: %w", rtsp.ErrNotFound, identity, roomName, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("lookup %s/%s: %w", roomName, identity, err)
	}
	return tracks, nil
}

// Publication is an ingest participant. Its producers refuse packets once
// the room closed, so RTSP publishers and pull sources notice (and
// reconnect) instead of writing into a room nobody can join any more.
type Publication struct {
	ext       *room.ExternalPublication
	producers []track.Producer
}

var _ rtsp.Publication = (*Publication)(nil)

func newPublication(r *room.Room, ext *room.ExternalPublication) *Publication {
	p := &Publication{ext: ext}
	for _, pr := range ext.Producers() {
		p.producers = append(p.producers, &guardedProducer{Producer: pr, done: r.Done()})
	}
	return p
}

// Producers implements rtsp.Publication.
func (p *Publication) Producers() []track.Producer { return p.producers }

// Participant is the room participant the publication appears as.
func (p *Publication) Participant() *room.Participant { return p.ext.Participant() }

// Close implements rtsp.Publication.
func (p *Publication) Close() { p.ext.Close() }

// guardedProducer fails writes after the room closed. The check is one
// non-blocking channel receive per packet.
type guardedProducer struct {
	track.Producer
	done <-chan struct{}
}

func (g *guardedProducer) WriteRTP(layer int, p *rtp.Packet) error {
	select {
	case <-g.done:
		return ErrRoomGone
	default:
	}
	if err := g.Producer.WriteRTP(layer, p); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	return nil
}
