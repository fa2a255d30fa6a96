package client

import "github.com/pion/rtcp"

// WriteRTCP sends RTCP (NACKs, PLIs, receiver reports) for this track on the
// subscriber connection; tests use it to exercise the server's NACK path.
func (t *RemoteTrack) WriteRTCP(pkts []rtcp.Packet) error {
	_, sub := t.room.transports()
	if sub == nil {
		return ErrClosed
	}
	return sub.pc.WriteRTCP(pkts)
}
