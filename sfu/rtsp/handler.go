package rtsp

import (
	"fmt"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
)

// handler adapts gortsplib's callbacks to the Server. gortsplib calls them
// from each connection's or session's own goroutine.
type handler struct{ s *Server }

var ok200 = func() *base.Response { return &base.Response{StatusCode: base.StatusOK} }

// readerRef is the user data of a reading session: the output it reads.
type readerRef struct{ out *output }

// OnAnnounce validates path, credentials and codecs. The participant is
// published at RECORD, once the publisher has set up its media.
func (h *handler) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	s := h.s
	p, err := ParsePath(ctx.Path)
	if err == nil && p.View != "" {
		err = fmt.Errorf("%w: publish to /<room>/<name>, not to a view", ErrBadPath)
	}
	if err != nil {
		return s.refusal(err, "ANNOUNCE", ctx.Path)
	}
	if err := s.authorize(ctx.Conn, ctx.Request, AccessPublish, p); err != nil {
		return s.refusal(err, "ANNOUNCE", ctx.Path)
	}
	// gortsplib parsed the SDP already (and answered 400 if it could not);
	// parse it again for the fmtp values its formats drop.
	_, raw, _ := parseSDP(ctx.Request.Body)
	plan, err := planTracks(ctx.Description, raw, true)
	if err != nil {
		return s.refusal(err, "ANNOUNCE", ctx.Path)
	}
	ctx.Session.SetUserData(&pushSession{s: s, path: p, plan: plan, session: ctx.Session,
		log: s.log.With("path", p.String(), "remote", ctx.Conn.NetConn().RemoteAddr().String())})
	return ok200(), nil
}

// OnRecord publishes the participant and starts forwarding.
func (h *handler) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	ps, ok := ctx.Session.UserData().(*pushSession)
	if !ok {
		return &base.Response{StatusCode: base.StatusBadRequest}, nil
	}
	if err := ps.start(); err != nil {
		return h.s.refusal(err, "RECORD", ctx.Path)
	}
	h.s.adoptPublisher(ps)
	return ok200(), nil
}

// OnDescribe serves the SDP of a participant's tracks.
func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	out, res, err := h.readerOutput(ctx.Conn, ctx.Request, ctx.Path, "DESCRIBE")
	if out == nil {
		return res, nil, err
	}
	return ok200(), out.stream, nil
}

// OnSetup accepts a publisher's media, or attaches a reader.
func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return ok200(), nil, nil
	}
	if ref, ok := ctx.Session.UserData().(*readerRef); ok {
		// later SETUPs of the same session: same stream, already authorized
		// for this path by the first one.
		return ok200(), ref.out.stream, nil
	}
	out, res, err := h.readerOutput(ctx.Conn, ctx.Request, ctx.Path, "SETUP")
	if out == nil {
		return res, nil, err
	}
	out.addReader()
	h.s.metrics.readers.Inc()
	ctx.Session.SetUserData(&readerRef{out: out})
	return ok200(), out.stream, nil
}

// OnPlay asks the publishers for a keyframe so the player starts at once.
func (h *handler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	if ref, ok := ctx.Session.UserData().(*readerRef); ok {
		ref.out.requestKeyframes()
	}
	return ok200(), nil
}

// OnSessionClose unpublishes a publisher or releases a reader.
func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	switch ud := ctx.Session.UserData().(type) {
	case *pushSession:
		h.s.dropPublisher(ud, ctx.Error)
	case *readerRef:
		ud.out.removeReader()
		h.s.metrics.readers.Dec()
	}
}

// OnDecodeError is called for garbage from a publisher: one line per cause.
func (h *handler) OnDecodeError(ctx *gortsplib.ServerHandlerOnDecodeErrorCtx) {
	h.s.limit.warn(h.s.log, "decode:"+ctx.Session.SetuppedPath(), "publisher sent undecodable data",
		"path", ctx.Session.SetuppedPath(), "error", ctx.Error)
}

// OnPacketsLost counts lost packets of publishers and logs in aggregate.
func (h *handler) OnPacketsLost(ctx *gortsplib.ServerHandlerOnPacketsLostCtx) {
	h.s.metrics.lost.Add(float64(ctx.Lost))
	h.s.limit.warn(h.s.log, "lost:"+ctx.Session.SetuppedPath(), "publisher packets lost",
		"path", ctx.Session.SetuppedPath(), "lost", ctx.Lost)
}

func (h *handler) readerOutput(conn *gortsplib.ServerConn, req *base.Request, path, op string) (*output, *base.Response, error) {
	s := h.s
	p, err := ParsePath(path)
	if err != nil {
		res, rerr := s.refusal(err, op, path)
		return nil, res, rerr
	}
	if err := s.authorize(conn, req, AccessRead, p); err != nil {
		res, rerr := s.refusal(err, op, path)
		return nil, res, rerr
	}
	out, err := s.output(p)
	if err != nil {
		res, rerr := s.refusal(err, op, path)
		return nil, res, rerr
	}
	return out, nil, nil
}
