package cascade

// The parent's side of the media plane beyond sending (sender.go): NACKs
// from the child, answered from the shared packet cache on the socket's
// read goroutine, so a retransmission is queued the moment its NACK lands.

// handlePlane authenticates one packet of this session's child. Called on
// the socket's read goroutine only.
func (ps *parentSession) handlePlane(b []byte) openResult {
	kind, payload, res := ps.up.open(b)
	if res != openOK {
		return res
	}
	if kind == kindNack {
		ps.answerNack(payload)
	}
	// Unknown kinds are authenticated but ignored: room for newer children.
	return openOK
}

// answerNack queues the cached packets a NACK asks for; misses are dropped
// (the child gives up, or its subscribers ask for a keyframe).
func (ps *parentSession) answerNack(b []byte) {
	num, layer, count, ok := parseNack(b)
	if !ok || layer >= maxLayers || ps.srv.cfg.Packets == nil {
		return
	}
	tbl := ps.nackTbl.Load()
	if tbl == nil {
		return
	}
	t, ok := (*tbl)[num]
	if !ok || !t.layers[layer] {
		return
	}
	for i := range count {
		n, ok := ps.srv.cfg.Packets.ReadPacket(t.sid, int(layer), nackSeq(b, i), ps.rtxBuf[:])
		if ok && n >= 12 {
			ps.snd.writeRaw(num, layer, true, ps.rtxBuf[:n])
		}
	}
}

// publishNackTable snapshots which layers of which tracks NACKs may be
// answered for. Called by the control goroutine after every change.
func (ps *parentSession) publishNackTable() {
	tbl := make(map[uint16]nackTarget, len(ps.tracks))
	for num, t := range ps.tracks {
		nt := nackTarget{sid: t.sid}
		for i, l := range t.layers {
			nt.layers[i] = l != nil
		}
		tbl[num] = nt
	}
	ps.nackTbl.Store(&tbl)
}
