package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/signalling"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"
)

type sigMsg struct {
	res *livekit.SignalResponse
	err error
}

// run owns the signal connection: serve it until it drops, then resume or rejoin, until Close, a
// server leave with DISCONNECT, or recovery gives up. It logs once why the room ended.
func (r *Room) run(sig *signalConn) {
	defer r.wg.Done()
	reason := r.runInner(sig)
	if errors.Is(reason, ErrClosed) {
		reason = nil
	}
	r.log.Info("room closed", "reason", reason)
	r.closeReason = reason
	r.cancel()
	r.setSignal(nil)
	r.closeTransports()
	r.failPendingPublishes()
	go func() {
		// Wait for drain/RTCP/reader goroutines, which end once the PCs and the socket are closed.
		r.wg.Wait()
		if cb := r.opts.Callbacks.OnDisconnected; cb != nil {
			r.events.post(func() { cb(reason) })
		}
		r.events.close(true)
		close(r.done)
	}()
}

func (r *Room) runInner(sig *signalConn) error {
	for {
		err := r.serve(sig)
		if r.ctx.Err() != nil {
			return ErrClosed
		}
		var leave *LeaveError
		if errors.As(err, &leave) || r.opts.DisableReconnect {
			return err
		}
		if cb := r.opts.Callbacks.OnReconnecting; cb != nil {
			r.events.post(func() { cb(err) })
		}
		full := errors.Is(err, errLeaveReconnect)
		r.log.Info("signal lost, recovering", "reason", err, "full", full)
		sig = nil
		if !full {
			sig = r.resume()
		}
		if sig == nil {
			sig = r.rejoin()
			full = true
		}
		if sig == nil {
			if r.ctx.Err() != nil {
				return ErrClosed
			}
			return ErrReconnectFailed
		}
		if cb := r.opts.Callbacks.OnReconnected; cb != nil {
			r.events.post(func() { cb(full) })
		}
	}
}

// serve reads and handles messages from sig until it fails; it returns why.
func (r *Room) serve(sig *signalConn) error {
	msgs := make(chan sigMsg, 16)
	readCtx, stopRead := context.WithCancel(r.ctx)
	r.wg.Add(1)
	go r.readLoop(readCtx, sig, msgs)
	defer func() {
		if r.ctx.Err() != nil {
			sig.closeNormal() // closing: the leave went out, say goodbye properly
		} else {
			sig.closeNow()
		}
		stopRead()
	}()

	join := r.JoinResponse()
	interval := time.Duration(join.GetPingInterval()) * time.Second
	timeout := time.Duration(join.GetPingTimeout()) * time.Second
	var tick <-chan time.Time
	if interval > 0 && timeout > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-r.ctx.Done():
			return ErrClosed
		case err := <-r.drops:
			return err
		case <-tick:
			if since := time.Since(time.UnixMilli(r.lastPong.Load())); since > timeout {
				return fmt.Errorf("%w: no pong for %v", ErrPingTimeout, since.Round(time.Millisecond))
			}
			if err := r.sendPing(); err != nil {
				return err
			}
		case m := <-msgs:
			if m.err != nil {
				return m.err
			}
			if err := r.handle(m.res); err != nil {
				return err
			}
		}
	}
}

func (r *Room) readLoop(ctx context.Context, sig *signalConn, out chan<- sigMsg) {
	defer r.wg.Done()
	for {
		res, err := sig.read(ctx)
		select {
		case out <- sigMsg{res: res, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// sendPing sends both ping forms, as livekit-client does.
func (r *Room) sendPing() error {
	now := time.Now().UnixMilli()
	if err := r.sendSignal(&livekit.SignalRequest{Message: &livekit.SignalRequest_Ping{Ping: now}}); err != nil {
		return err
	}
	return r.sendSignal(&livekit.SignalRequest{Message: &livekit.SignalRequest_PingReq{
		PingReq: &livekit.Ping{Timestamp: now, Rtt: r.rttMs.Load()},
	}})
}

// handle acts on one server message. A returned error abandons the signal connection.
func (r *Room) handle(res *livekit.SignalResponse) error {
	r.tap(res)
	cb := r.opts.Callbacks
	switch m := res.GetMessage().(type) {
	case *livekit.SignalResponse_Offer:
		return r.handleSubscriberOffer(m.Offer)
	case *livekit.SignalResponse_Answer:
		if pub, _ := r.transports(); pub != nil {
			if err := pub.handleAnswer(m.Answer); err != nil {
				r.log.Warn("publisher answer", "err", err)
			}
		}
	case *livekit.SignalResponse_Trickle:
		r.handleTrickle(m.Trickle)
	case *livekit.SignalResponse_Update:
		r.handleParticipantUpdate(m.Update.GetParticipants())
	case *livekit.SignalResponse_TrackPublished:
		r.handleTrackPublished(m.TrackPublished)
	case *livekit.SignalResponse_TrackUnpublished:
		r.handleLocalUnpublished(m.TrackUnpublished.GetTrackSid())
	case *livekit.SignalResponse_Leave:
		return r.handleLeave(m.Leave)
	case *livekit.SignalResponse_Mute:
		r.handleServerMute(m.Mute)
	case *livekit.SignalResponse_Pong:
		r.lastPong.Store(time.Now().UnixMilli())
	case *livekit.SignalResponse_PongResp:
		now := time.Now().UnixMilli()
		r.lastPong.Store(now)
		r.rttMs.Store(now - m.PongResp.GetLastPingTimestamp())
	case *livekit.SignalResponse_RefreshToken:
		r.mu.Lock()
		r.token = m.RefreshToken
		r.mu.Unlock()
		post1(r, cb.OnRefreshToken, m.RefreshToken)
	case *livekit.SignalResponse_RoomUpdate:
		r.mu.Lock()
		if r.join != nil && m.RoomUpdate.GetRoom() != nil {
			r.join.Room = m.RoomUpdate.GetRoom()
		}
		r.mu.Unlock()
		post1(r, cb.OnRoomUpdate, m.RoomUpdate.GetRoom())
	case *livekit.SignalResponse_SpeakersChanged:
		post1(r, cb.OnSpeakersChanged, m.SpeakersChanged.GetSpeakers())
	case *livekit.SignalResponse_ConnectionQuality:
		post1(r, cb.OnConnectionQuality, m.ConnectionQuality.GetUpdates())
	case *livekit.SignalResponse_StreamStateUpdate:
		post1(r, cb.OnStreamStateUpdate, m.StreamStateUpdate.GetStreamStates())
	case *livekit.SignalResponse_SubscriptionResponse:
		post1(r, cb.OnSubscriptionResponse, m.SubscriptionResponse)
	case *livekit.SignalResponse_RequestResponse:
		r.handleRequestResponse(m.RequestResponse)
	case *livekit.SignalResponse_SubscribedQualityUpdate:
		r.handleSubscribedQuality(m.SubscribedQualityUpdate)
	case *livekit.SignalResponse_SubscriptionPermissionUpdate:
		post1(r, cb.OnSubscriptionPermissionUpdate, m.SubscriptionPermissionUpdate)
	case *livekit.SignalResponse_Join, *livekit.SignalResponse_Reconnect:
		r.log.Warn("unexpected join/reconnect response mid-session")
	default:
		// track_subscribed, room_moved, data tracks…: seen by OnSignal, nothing to do here.
	}
	return nil
}

// post1 queues cb(v) when cb is set. Values are cloned when they are protobuf messages or slices of them
// so callbacks may keep them.
func post1[T any](r *Room, cb func(T), v T) {
	if cb == nil {
		return
	}
	v = cloneValue(v)
	r.events.post(func() { cb(v) })
}

func cloneValue[T any](v T) T {
	switch x := any(v).(type) {
	case proto.Message:
		return proto.Clone(x).(T)
	case []*livekit.SpeakerInfo:
		return any(cloneSlice(x)).(T)
	case []*livekit.ConnectionQualityInfo:
		return any(cloneSlice(x)).(T)
	case []*livekit.StreamStateInfo:
		return any(cloneSlice(x)).(T)
	default:
		return v
	}
}

func cloneSlice[M proto.Message](in []M) []M {
	out := make([]M, len(in))
	for i, m := range in {
		out[i] = proto.Clone(m).(M)
	}
	return out
}

func (r *Room) handleTrickle(t *livekit.TrickleRequest) {
	c, err := signalling.FromProtoTrickle(t)
	if err != nil {
		r.log.Warn("bad trickle candidate", "err", err)
		return
	}
	pub, sub := r.transports()
	tr := pub
	if t.GetTarget() == livekit.SignalTarget_SUBSCRIBER {
		tr = sub
	}
	if tr == nil {
		return
	}
	if err := tr.addRemoteCandidate(c); err != nil {
		r.log.Debug("trickle", "target", t.GetTarget(), "err", err)
	}
}

func (r *Room) handleSubscriberOffer(offer *livekit.SessionDescription) error {
	_, sub := r.transports()
	if sub == nil {
		return nil
	}
	_, _, mids := signalling.FromProtoSessionDescription(offer)
	r.mu.Lock()
	for mid, sid := range mids {
		r.midToTrackID[mid] = sid
	}
	r.mu.Unlock()
	if _, err := sub.answerOffer(offer); err != nil {
		r.log.Warn("subscriber offer", "err", err)
		return nil
	}
	r.reapInactiveTracks(offer.GetSdp())
	return nil
}

// handleLeave acts on a server LeaveRequest: DISCONNECT ends the room, RESUME resumes, RECONNECT rejoins.
func (r *Room) handleLeave(l *livekit.LeaveRequest) error {
	post1(r, r.opts.Callbacks.OnLeave, l)
	r.log.Info("server leave", "reason", l.GetReason(), "action", l.GetAction())
	switch l.GetAction() {
	case livekit.LeaveRequest_RESUME:
		return errLeaveResume
	case livekit.LeaveRequest_RECONNECT:
		return errLeaveReconnect
	default:
		return &LeaveError{Reason: l.GetReason(), Action: l.GetAction()}
	}
}

// resume reconnects with reconnect=1&sid=…, keeping both peer connections, then sends SyncState and
// restarts publisher ICE if it is not connected. It returns nil when every attempt failed.
func (r *Room) resume() *signalConn {
	delay := r.opts.RetryDelay
	for attempt := 1; attempt <= r.opts.MaxResumeAttempts; attempt++ {
		if !r.sleep(delay) {
			return nil
		}
		delay = min(2*delay, 5*time.Second)
		sig, res, err := r.dialJoin(r.ctx, true)
		if err != nil {
			r.log.Info("resume attempt failed", "attempt", attempt, "err", err)
			var leave *LeaveError
			if errors.As(err, &leave) {
				return nil
			}
			continue
		}
		r.applyReconnectResponse(res.GetReconnect())
		r.setSignal(sig)
		r.lastPong.Store(time.Now().UnixMilli())
		if err := r.afterResume(); err != nil {
			r.log.Info("resume sync failed", "attempt", attempt, "err", err)
			sig.closeNow()
			continue
		}
		r.log.Info("resumed", "attempt", attempt)
		return sig
	}
	return nil
}

func (r *Room) applyReconnectResponse(rr *livekit.ReconnectResponse) {
	if len(rr.GetIceServers()) == 0 {
		return
	}
	ice := signalling.FromProtoIceServers(rr.GetIceServers())
	pub, sub := r.transports()
	for _, t := range []*transport{pub, sub} {
		if t == nil {
			continue
		}
		cfg := t.pc.GetConfiguration()
		cfg.ICEServers = ice
		if err := t.pc.SetConfiguration(cfg); err != nil {
			r.log.Debug("set ice servers", "err", err)
		}
	}
}

func (r *Room) afterResume() error {
	pub, _ := r.transports()
	if pub != nil && pub.wasNegotiated() {
		pub.resetOffering()
		if !iceConnected(pub.pc) {
			if err := pub.negotiate(true); err != nil {
				return err
			}
		}
	}
	return r.sendSignal(&livekit.SignalRequest{Message: &livekit.SignalRequest_SyncState{
		SyncState: r.syncState(),
	}})
}

// syncState describes what we have so a resumed session keeps its subscriptions and publications.
// The subscription part mirrors livekit-client: with auto-subscribe it lists the tracks the user
// unsubscribed (subscribe=false), without it the tracks the user subscribed (subscribe=true).
func (r *Room) syncState() *livekit.SyncState {
	r.mu.Lock()
	defer r.mu.Unlock()
	ss := &livekit.SyncState{}
	if r.sub != nil {
		if d := r.sub.pc.LocalDescription(); d != nil {
			ss.Answer = signalling.ToProtoSessionDescription(*d, 0, nil)
		}
	}
	if r.pub != nil {
		if d := r.pub.pc.LocalDescription(); d != nil && d.Type == webrtc.SDPTypeOffer {
			ss.Offer = signalling.ToProtoSessionDescription(*d, 0, nil)
		}
	}
	auto := *r.opts.AutoSubscribe
	set := r.subscribed
	if auto {
		set = r.unsubscribed
	}
	ss.Subscription = &livekit.UpdateSubscription{Subscribe: !auto}
	for sid := range set {
		ss.Subscription.TrackSids = append(ss.Subscription.TrackSids, sid)
	}
	for _, lt := range r.localTracks {
		if info := lt.infoCopy(); info != nil {
			ss.PublishTracks = append(ss.PublishTracks, &livekit.TrackPublishedResponse{Cid: lt.cid, Track: info})
		}
	}
	ss.DataChannels = append(r.pubDC.infos(livekit.SignalTarget_PUBLISHER),
		r.subDC.infos(livekit.SignalTarget_SUBSCRIBER)...)
	for sid := range r.disabled {
		ss.TrackSidsDisabled = append(ss.TrackSidsDisabled, sid)
	}
	return ss
}

// rejoin is the full reconnect: new join, new peer connections, local tracks published again.
func (r *Room) rejoin() *signalConn {
	r.closeTransports()
	r.clearRemoteState()
	delay := r.opts.RetryDelay
	for attempt := 1; attempt <= r.opts.MaxResumeAttempts; attempt++ {
		if !r.sleep(delay) {
			return nil
		}
		delay = min(2*delay, 5*time.Second)
		sig, res, err := r.dialJoin(r.ctx, false)
		if err != nil {
			r.log.Info("rejoin attempt failed", "attempt", attempt, "err", err)
			continue
		}
		if err := r.startSession(sig, res); err != nil {
			r.log.Info("rejoin session failed", "attempt", attempt, "err", err)
			sig.closeNow()
			r.closeTransports()
			continue
		}
		r.wg.Add(1)
		go r.republish()
		r.log.Info("rejoined", "attempt", attempt)
		return sig
	}
	return nil
}

// clearRemoteState forgets participants and subscribed tracks before a rejoin, posting the events.
func (r *Room) clearRemoteState() {
	r.mu.Lock()
	tracks := r.remoteTracks
	parts := r.participants
	r.resetStateLocked()
	r.pubDC, r.subDC = dataChannels{}, dataChannels{}
	r.mu.Unlock()
	cb := r.opts.Callbacks
	for _, t := range tracks {
		t.markEnded()
		if cb.OnTrackUnsubscribed != nil {
			r.events.post(func() { cb.OnTrackUnsubscribed(t) })
		}
	}
	for _, p := range parts {
		if cb.OnParticipantDisconnected != nil {
			s := snapshot(p)
			r.events.post(func() { cb.OnParticipantDisconnected(s) })
		}
	}
}

func (r *Room) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
