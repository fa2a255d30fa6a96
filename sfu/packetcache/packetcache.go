// Package packetcache keeps the most recent packets of ONE RTP stream (one
// SSRC, one simulcast layer) so that the SFU can answer every subscriber's
// NACKs from a single shared copy instead of one buffer per subscriber.
//
// The cache is a ring of fixed 1500-byte slots carved out of one backing
// array allocated up front: Store and Get copy bytes and never allocate.
// Store returns the slot index it used; a reader that remembers
// (seq, index) gets the packet back with GetAt in O(1), and GetAt falls back
// to a search when the slot has since been reused or the cache resized.
//
// A Cache is safe for concurrent use: typically one reader goroutine of the
// publisher's track stores, and the writer goroutines of many subscribers
// read. A single mutex guards it; each critical section is a bounded copy of
// at most SlotSize bytes (see BenchmarkStoreWithConcurrentReaders).
package packetcache

import "sync"

const (
	// SlotSize is the largest packet the cache holds, in bytes. It is the
	// Ethernet MTU: SRTP-decrypted RTP read from a WebRTC peer fits.
	SlotSize = 1500
	// MaxCapacity is the largest number of slots. It is kept at or below
	// half the sequence-number space so that a search by sequence number is
	// never ambiguous.
	MaxCapacity = 1 << 15

	// restartWindow: a packet this far (or more) behind the newest one is
	// taken as a restart of the stream's sequence numbering rather than as
	// a late packet. No reordering a NACK could repair is that deep.
	restartWindow = 0x1000
)

const (
	flagKeyframe uint8 = 1 << iota
	flagMarker
)

// slot is the metadata of one cached packet; its bytes live in Cache.data at
// index*SlotSize. Metadata is kept apart from the bytes so that a search by
// sequence number scans a small contiguous array.
type slot struct {
	seq    uint16
	length uint16 // 0 means empty
	ts     uint32
	flags  uint8
}

// keyframeMark remembers where the newest keyframe starts.
type keyframeMark struct {
	seq   uint16
	ts    uint32
	index uint16
	valid bool
}

// Meta describes a cached packet without copying it.
type Meta struct {
	Seq      uint16
	TS       uint32
	Index    uint16 // slot index, usable with GetAt
	Length   int
	Keyframe bool // as flagged by the caller of Store
	Marker   bool
}

// Stats is a snapshot of the cache's bookkeeping.
type Stats struct {
	// LastSeq is the newest sequence number stored (by RTP order, not by
	// arrival); meaningful only when LastValid.
	LastSeq   uint16
	LastValid bool
	// Stored counts packets stored since New, including ones since evicted.
	Stored uint64
	// Capacity is the number of slots.
	Capacity int
}

// Cache is a fixed-slot ring of recent packets of one RTP stream.
type Cache struct {
	mu        sync.Mutex
	slots     []slot
	data      []byte // len(slots)*SlotSize
	mask      uint16
	tail      uint16 // next slot to write
	lastSeq   uint16
	lastValid bool
	stored    uint64
	keyframe  keyframeMark
}

// New returns a cache with capacity slots, rounded up to a power of two and
// clamped to [1, MaxCapacity]. All slot memory is allocated here.
func New(capacity int) *Cache {
	n := roundCapacity(capacity)
	return &Cache{
		slots: make([]slot, n),
		data:  make([]byte, n*SlotSize),
		mask:  uint16(n - 1),
	}
}

func roundCapacity(capacity int) int {
	n := 1
	for n < capacity && n < MaxCapacity {
		n <<= 1
	}
	return n
}

// Capacity returns the number of slots.
func (c *Cache) Capacity() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.slots)
}

// Store copies buf into the cache, evicting the oldest slot, and returns the
// slot index for GetAt. keyframe should be true for packets that begin a
// keyframe (codec.KeyframeStart); the first such packet of the newest
// keyframe is reported by KeyframeSeq. buf is not retained.
func (c *Cache) Store(seq uint16, ts uint32, keyframe, marker bool, buf []byte) (uint16, error) {
	if len(buf) == 0 || len(buf) > SlotSize {
		return 0, ErrPacketSize
	}
	var flags uint8
	if keyframe {
		flags |= flagKeyframe
	}
	if marker {
		flags |= flagMarker
	}

	c.mu.Lock()
	i := c.tail
	c.slots[i] = slot{seq: seq, length: uint16(len(buf)), ts: ts, flags: flags}
	off := int(i) * SlotSize
	copy(c.data[off:off+len(buf)], buf)
	c.tail = (i + 1) & c.mask
	c.stored++
	c.noteSeqLocked(seq)
	if keyframe {
		c.noteKeyframeLocked(seq, ts, i)
	}
	c.mu.Unlock()
	return i, nil
}

// noteSeqLocked tracks the newest sequence number. Called with mu held.
func (c *Cache) noteSeqLocked(seq uint16) {
	d := int16(seq - c.lastSeq)
	switch {
	case !c.lastValid:
	case d > 0:
	case int(d) <= -restartWindow:
		// The publisher restarted its numbering: an older keyframe mark
		// would compare wrongly against the new timestamps.
		c.keyframe.valid = false
	default:
		return // late or duplicate packet
	}
	c.lastSeq = seq
	c.lastValid = true
}

// noteKeyframeLocked records the first packet of the newest keyframe: a newer
// timestamp starts a new keyframe, and a late packet of the same keyframe
// with a lower sequence number moves the start back. Called with mu held.
func (c *Cache) noteKeyframeLocked(seq uint16, ts uint32, index uint16) {
	k := &c.keyframe
	switch {
	case !k.valid || int32(ts-k.ts) > 0:
	case ts == k.ts && int16(seq-k.seq) < 0:
	default:
		return
	}
	*k = keyframeMark{seq: seq, ts: ts, index: index, valid: true}
}

// Get copies the packet with sequence number seq into dst and returns its
// length, or 0 when the packet is not cached (never stored or evicted) or
// dst is shorter than the packet. A dst of SlotSize bytes always fits.
func (c *Cache) Get(seq uint16, dst []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.findLocked(seq)
	if !ok {
		return 0
	}
	return c.copyOutLocked(i, dst)
}

// GetAt is Get with the index that Store returned for seq: O(1) while the
// slot still holds seq, otherwise it searches like Get.
func (c *Cache) GetAt(seq, index uint16, dst []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int(index) < len(c.slots) {
		s := &c.slots[index]
		if s.length != 0 && s.seq == seq {
			return c.copyOutLocked(index, dst)
		}
	}
	i, ok := c.findLocked(seq)
	if !ok {
		return 0
	}
	return c.copyOutLocked(i, dst)
}

// Meta reports the metadata of the cached packet with sequence number seq.
func (c *Cache) Meta(seq uint16) (Meta, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.findLocked(seq)
	if !ok {
		return Meta{}, false
	}
	s := &c.slots[i]
	return Meta{
		Seq:      s.seq,
		TS:       s.ts,
		Index:    i,
		Length:   int(s.length),
		Keyframe: s.flags&flagKeyframe != 0,
		Marker:   s.flags&flagMarker != 0,
	}, true
}

// copyOutLocked copies slot i into dst. Called with mu held.
func (c *Cache) copyOutLocked(i uint16, dst []byte) int {
	n := int(c.slots[i].length)
	if len(dst) < n {
		return 0
	}
	off := int(i) * SlotSize
	return copy(dst, c.data[off:off+n])
}

// findLocked returns the slot holding seq. It first tries the slot where seq
// would be if packets arrived in order without loss (the common case), then
// scans from newest to oldest so that a duplicate resolves to its newest
// copy. Called with mu held.
func (c *Cache) findLocked(seq uint16) (uint16, bool) {
	if !c.lastValid {
		return 0, false
	}
	guess := (c.tail - 1 - (c.lastSeq - seq)) & c.mask
	if s := &c.slots[guess]; s.length != 0 && s.seq == seq {
		return guess, true
	}
	i := c.tail
	for range c.slots {
		i = (i - 1) & c.mask
		if s := &c.slots[i]; s.length != 0 && s.seq == seq {
			return i, true
		}
	}
	return 0, false
}

// KeyframeSeq returns the sequence number of the first packet of the newest
// keyframe, if that packet is still cached. A new subscriber can be sent the
// packets from there to Stats().LastSeq instead of waiting for (and asking
// the publisher for) the next keyframe.
func (c *Cache) KeyframeSeq() (uint16, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.keyframe
	if !k.valid || int(k.index) >= len(c.slots) {
		return 0, false
	}
	s := &c.slots[k.index]
	if s.length == 0 || s.seq != k.seq || s.ts != k.ts {
		return 0, false
	}
	return k.seq, true
}

// Stats returns a snapshot of the cache's bookkeeping.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{
		LastSeq:   c.lastSeq,
		LastValid: c.lastValid,
		Stored:    c.stored,
		Capacity:  len(c.slots),
	}
}

// Resize changes the number of slots (rounded like New), keeping the newest
// packets that fit. It allocates, so call it from the control path (e.g. when
// the RTT or the bitrate estimate changes), not per packet; galene sizes from
// RTT × packet rate with 24 slots minimum for audio, 128 for video and 1024
// at most. Indices returned by Store before a resize may no longer match;
// GetAt then falls back to a search, so holding them stays safe.
func (c *Cache) Resize(capacity int) {
	n := roundCapacity(capacity)
	c.mu.Lock()
	defer c.mu.Unlock()
	if n == len(c.slots) {
		return
	}
	slots := make([]slot, n)
	data := make([]byte, n*SlotSize)
	keep := min(n, len(c.slots))
	kfFound := false
	for k := range keep {
		src := (c.tail - uint16(keep) + uint16(k)) & c.mask
		slots[k] = c.slots[src]
		copy(data[k*SlotSize:(k+1)*SlotSize], c.data[int(src)*SlotSize:])
		if c.keyframe.valid && src == c.keyframe.index {
			c.keyframe.index = uint16(k)
			kfFound = true
		}
	}
	if !kfFound {
		c.keyframe.valid = false
	}
	c.slots = slots
	c.data = data
	c.mask = uint16(n - 1)
	c.tail = uint16(keep) & c.mask
}
