package cascade

import "time"

// The child's side of the media plane: media in (inline on the socket's
// read goroutine), NACKs out (from the NACK ticker).

// handlePlane authenticates one media-plane packet and delivers its frame.
func (cc *childConn) handlePlane(b []byte) {
	o := cc.down.Load()
	if o == nil { // before the parent's hello: no keys yet
		cc.plane.count(openBad)
		return
	}
	kind, frame, res := o.open(b)
	cc.plane.count(res)
	if res != openOK || kind != kindMedia {
		return
	}
	if !cc.rcv.deliver(*cc.table.Load(), frame, time.Now().UnixNano()) {
		cc.plane.badFrames.Add(1)
	}
}

// sendNacks sends seqs as media-plane NACK packets, as many as needed.
// Write errors are ignored: the tracker retries on the next scan.
func (cc *childConn) sendNacks(num uint16, layer uint8, seqs []uint16) {
	for len(seqs) > 0 {
		n, took := putNack(cc.nackBuf[planeHeaderLen:], num, layer, seqs)
		_, _ = cc.udp.WriteToUDPAddrPort(cc.up.seal(cc.nackBuf[:], kindNack, n), cc.peer)
		seqs = seqs[took:]
	}
}

// retryRTT is the RTT NACK retries are timed by. QUIC's smoothed RTT comes
// from the ACKs of every packet; the control-stream ping is queued behind
// lost stream frames at high loss, so its samples run long (an inflated RTT
// means fewer retries within nackMaxAge). The ping is the fallback.
func (cc *childConn) retryRTT(ping time.Duration) time.Duration {
	if rtt := cc.conn.ConnectionStats().SmoothedRTT; rtt > 0 {
		return rtt
	}
	return ping
}

// PlaneStats counts the media-plane packets this link received, over all
// its connections.
func (l *Link) PlaneStats() PlaneStats { return l.plane.snapshot() }
