package cascade

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"

	"github.com/classcast/classcast/sfu/track"
)

// Control messages travel on one bidirectional QUIC stream, each as a
// 4-byte big-endian length followed by a JSON object. JSON (not protobuf):
// the control plane runs at tens of messages per second, stays readable in
// logs and captures, and needs no code generator in the tree; the per-packet
// path never touches it (media and NACKs ride the media plane, plane.go).
const maxMessageLen = 1 << 20

// Message types.
const (
	msgHello       = "hello"
	msgSubscribe   = "subscribe"
	msgSubscribed  = "subscribed"
	msgUnsubscribe = "unsubscribe"
	msgLayers      = "layers"
	msgJoin        = "join"
	msgLeave       = "leave"
	msgEvent       = "event"
	msgPLI         = "pli"
	msgPing        = "ping"
	msgPong        = "pong"
)

// protocolVersion is bumped on incompatible changes; hello carries it.
// 2: media and NACKs on the media plane (hello carries the session id)
// instead of QUIC datagrams and control-stream NACKs.
const protocolVersion = 2

type message struct {
	Type string `json:"t"`

	// hello
	Node    string `json:"node,omitempty"`
	Version int    `json:"v,omitempty"`
	// Session is the media-plane session id, in the parent's hello.
	Session uint32 `json:"sid,omitempty"`

	// subscribe / subscribed / unsubscribe / layers / pli
	ID     uint32      `json:"id,omitempty"`  // child's subscription id
	Num    uint16      `json:"num,omitempty"` // parent's track number (frame key)
	Room   string      `json:"room,omitempty"`
	Track  string      `json:"track,omitempty"`
	Layers []int       `json:"layers,omitempty"`
	Info   *track.Info `json:"info,omitempty"`
	Error  string      `json:"err,omitempty"`
	Layer  int         `json:"layer,omitempty"`

	// event (participant/track events and data packets)
	Event *Event `json:"ev,omitempty"`

	// ping / pong: sender's monotonic clock, echoed back
	T int64 `json:"ts,omitempty"`
}

func writeMessage(w io.Writer, m *message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("cascade: encode %s: %w", m.Type, err)
	}
	if len(body) > maxMessageLen {
		return ErrMessageTooLarge
	}
	buf := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	_, err = w.Write(buf)
	return err
}

func readMessage(r io.Reader) (*message, error) {
	var lenBuf [4]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(lenBuf[:])
	if n > maxMessageLen {
		return nil, ErrMessageTooLarge
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return decodeMessage(body)
}

func decodeMessage(body []byte) (*message, error) {
	m := &message{}
	if err := json.Unmarshal(body, m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if m.Type == "" {
		return nil, fmt.Errorf("%w: no type", ErrBadMessage)
	}
	return m, nil
}
