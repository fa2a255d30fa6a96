package cascade

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/tls"
	"encoding/binary"
	"fmt"
)

// Media-plane packet, sent on the QUIC connection's UDP socket but outside
// QUIC (see plane.go and DESIGN.md):
//
//	byte 0      0x20 | kind. The top two bits are clear, so the packet can
//	            never be mistaken for QUIC (fixed bit 0x40, long header 0x80).
//	bytes 1-4   session id, chosen by the parent per child connection
//	bytes 5-12  packet counter of this direction, big endian, from 1
//	bytes 13-   AES-128-GCM ciphertext of the payload, then the 16-byte tag;
//	            bytes 0-12 are the additional data.
//
// Payloads: kind media carries a frame (frame.go), kind nack a NACK list
// (nack.go).
const (
	planeVersion   = 0x20
	planeVerMask   = 0xe0
	kindMedia      = 1
	kindNack       = 2
	planeHeaderLen = 13
	planeTagLen    = 16
	// maxPlanePacket is quic-go's read buffer (protocol.MaxPacketBufferSize):
	// the socket reader is shared with quic-go, which reads into buffers
	// of this size, so a longer packet would arrive truncated.
	maxPlanePacket = 1452
	// maxPlainLen is the largest payload that fits one packet.
	maxPlainLen = maxPlanePacket - planeHeaderLen - planeTagLen
)

// exporterLabel names the keys in the TLS exporter. Both ends run the same
// export on the same TLS session, so they agree without sending a key.
const exporterLabel = "classcast cascade media v1"

const (
	keyLen = 16 // AES-128
	ivLen  = 12 // GCM nonce
)

// dirKey protects one direction of one connection.
type dirKey struct {
	aead cipher.AEAD
	iv   [ivLen]byte
}

// planeKeys are the keys of both directions of one connection: down is
// parent → child (media), up is child → parent (NACKs).
type planeKeys struct{ down, up dirKey }

// deriveKeys exports the media-plane keys from the connection's TLS 1.3
// session: as secret as the QUIC keys, and fresh on every connection, so a
// counter starting at 1 never reuses a nonce.
func deriveKeys(cs tls.ConnectionState) (planeKeys, error) {
	m, err := cs.ExportKeyingMaterial(exporterLabel, nil, 2*(keyLen+ivLen))
	if err != nil {
		return planeKeys{}, fmt.Errorf("cascade: export media keys: %w", err)
	}
	var k planeKeys
	if k.down, err = newDirKey(m[:keyLen], m[2*keyLen:2*keyLen+ivLen]); err != nil {
		return planeKeys{}, err
	}
	if k.up, err = newDirKey(m[keyLen:2*keyLen], m[2*keyLen+ivLen:]); err != nil {
		return planeKeys{}, err
	}
	return k, nil
}

func newDirKey(key, iv []byte) (dirKey, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return dirKey{}, fmt.Errorf("cascade: media key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return dirKey{}, fmt.Errorf("cascade: media key: %w", err)
	}
	d := dirKey{aead: aead}
	copy(d.iv[:], iv)
	return d, nil
}

// nonceFor writes IV XOR counter into n (the TLS 1.3 construction).
func (d *dirKey) nonceFor(n *[ivLen]byte, ctr uint64) {
	*n = d.iv
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], ctr)
	for i := range c {
		n[ivLen-8+i] ^= c[i]
	}
}

// sealer numbers and encrypts the packets of one direction. It is owned by
// one goroutine (the session's sender, or the link's NACK ticker): the
// counter and nonce scratch are not locked.
type sealer struct {
	key   dirKey
	sid   uint32
	ctr   uint64
	nonce [ivLen]byte
}

// seal encrypts in place. b[planeHeaderLen:planeHeaderLen+n] holds the
// payload and cap(b) must leave room for the tag; it returns the packet.
func (s *sealer) seal(b []byte, kind byte, n int) []byte {
	s.ctr++
	b[0] = planeVersion | kind
	binary.BigEndian.PutUint32(b[1:5], s.sid)
	binary.BigEndian.PutUint64(b[5:13], s.ctr)
	s.key.nonceFor(&s.nonce, s.ctr)
	return s.key.aead.Seal(b[:planeHeaderLen], s.nonce[:], b[planeHeaderLen:planeHeaderLen+n], b[:planeHeaderLen])
}

// isPlanePacket tells media-plane packets from QUIC ones by the first byte.
func isPlanePacket(b []byte) bool { return len(b) > 0 && b[0]&0xc0 == 0 }

// planeSession reads the session id of a packet that passed isPlanePacket,
// so the parent can find the keys; ok is false for anything too short or of
// another version.
func planeSession(b []byte) (sid uint32, ok bool) {
	if len(b) < planeHeaderLen+planeTagLen || b[0]&planeVerMask != planeVersion {
		return 0, false
	}
	return binary.BigEndian.Uint32(b[1:5]), true
}

// openResult says why a packet was refused (or that it was not).
type openResult uint8

const (
	openOK openResult = iota
	openBad
	openReplay
)

// opener authenticates and decrypts the packets of one direction and keeps
// the replay window. Owned by the socket's read goroutine.
type opener struct {
	key   dirKey
	sid   uint32
	nonce [ivLen]byte
	win   replayWindow
}

// open decrypts b in place and returns the kind and payload. Nothing is
// returned for a packet that fails authentication, belongs to another
// session, or was already accepted.
func (o *opener) open(b []byte) (kind byte, payload []byte, res openResult) {
	sid, ok := planeSession(b)
	if !ok || sid != o.sid {
		return 0, nil, openBad
	}
	ctr := binary.BigEndian.Uint64(b[5:13])
	if !o.win.fresh(ctr) {
		return 0, nil, openReplay
	}
	o.key.nonceFor(&o.nonce, ctr)
	body := b[planeHeaderLen:]
	pt, err := o.key.aead.Open(body[:0], o.nonce[:], body, b[:planeHeaderLen])
	if err != nil {
		return 0, nil, openBad
	}
	// Only an authenticated counter moves the window: a forged one must not
	// push real packets out of it.
	o.win.accept(ctr)
	return b[0] &^ planeVerMask, pt, openOK
}
