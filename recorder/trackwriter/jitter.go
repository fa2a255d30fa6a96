package trackwriter

import "time"

// jitterSize is how many sequence numbers the reorder buffer spans. NACK
// retransmissions arrive within a few RTTs, far fewer than 512 packets.
const jitterSize = 512

// jitter reorders packets by sequence number. A gap is waited for at most
// maxDelay (measured from the arrival of the oldest packet held behind it),
// then skipped and counted as lost.
type jitter struct {
	ring     [jitterSize]*slot
	next     uint16
	held     int
	started  bool
	maxDelay time.Duration
}

type pushResult int

const (
	pushed   pushResult = iota
	pushLate            // older than what was emitted or skipped, or a duplicate
	pushFar             // too far ahead of the buffer: caller drains and restarts
)

// push stores s unless it returns pushLate or pushFar (then the caller
// still owns s).
func (j *jitter) push(s *slot) pushResult {
	if !j.started {
		j.started, j.next = true, s.seq
	}
	d := int16(s.seq - j.next)
	if d < 0 {
		return pushLate
	}
	if int(d) >= jitterSize {
		return pushFar
	}
	i := s.seq % jitterSize
	if j.ring[i] != nil {
		return pushLate
	}
	j.ring[i] = s
	j.held++
	return pushed
}

// pop returns the next in-order packet, or nil.
func (j *jitter) pop() *slot {
	i := j.next % jitterSize
	s := j.ring[i]
	if s == nil {
		return nil
	}
	j.ring[i] = nil
	j.held--
	j.next++
	return s
}

// skipGap jumps over a missing run when the oldest held packet has waited
// long enough (or force is set). It returns how many were skipped.
func (j *jitter) skipGap(now time.Time, force bool) int {
	if j.held == 0 || j.ring[j.next%jitterSize] != nil {
		return 0
	}
	for k := 1; k < jitterSize; k++ {
		s := j.ring[(j.next+uint16(k))%jitterSize]
		if s == nil {
			continue
		}
		if !force && now.Sub(s.arrival) < j.maxDelay {
			return 0
		}
		j.next += uint16(k)
		return k
	}
	return 0
}

// restart forgets the sequence origin so the next packet starts afresh; the
// caller must have drained held packets first.
func (j *jitter) restart() { j.started = false }
