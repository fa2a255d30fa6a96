package packetcache

import "errors"

// ErrPacketSize is returned by Store for an empty packet or one larger than
// SlotSize. Such a packet is not stored: truncating it would hand corrupt
// packets to subscribers that NACK it.
var ErrPacketSize = errors.New("packetcache: packet size out of range")
