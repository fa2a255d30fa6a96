package client

import (
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Pion sends simulcast encodings on their own SSRCs but, unlike browsers, writes no mid/rid header
// extensions, and a simulcast offer (a=rid, no a=ssrc→rid mapping) leaves the SFU nothing else to
// tell the layers apart by. streamTagger is an interceptor that writes sdes:mid and
// sdes:rtp-stream-id (repaired-rtp-stream-id on the RTX SSRC) on outgoing packets of the SSRCs the
// publisher transport registered after each offer.
type streamTagger struct {
	tags sync.Map // uint32 SSRC → streamTag
}

type streamTag struct {
	mid, rid []byte
	repair   bool
}

// NewInterceptor implements interceptor.Factory; one tagger serves every PC of the API.
func (s *streamTagger) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &streamTagInterceptor{tagger: s}, nil
}

// tagSenders registers the rid encodings of pc's senders; it returns the SSRCs it added.
func (s *streamTagger) tagSenders(pc *webrtc.PeerConnection) []uint32 {
	var added []uint32
	for _, tr := range pc.GetTransceivers() {
		sender := tr.Sender()
		if sender == nil || tr.Mid() == "" {
			continue
		}
		for _, enc := range sender.GetParameters().Encodings {
			if enc.RID == "" {
				continue
			}
			mid, rid := []byte(tr.Mid()), []byte(enc.RID)
			s.tags.Store(uint32(enc.SSRC), streamTag{mid: mid, rid: rid})
			added = append(added, uint32(enc.SSRC))
			if enc.RTX.SSRC != 0 {
				s.tags.Store(uint32(enc.RTX.SSRC), streamTag{mid: mid, rid: rid, repair: true})
				added = append(added, uint32(enc.RTX.SSRC))
			}
		}
	}
	return added
}

func (s *streamTagger) untag(ssrcs []uint32) {
	for _, ssrc := range ssrcs {
		s.tags.Delete(ssrc)
	}
}

type streamTagInterceptor struct {
	interceptor.NoOp
	tagger *streamTagger
}

// BindLocalStream wraps the writer of a registered SSRC; others pass through untouched.
func (i *streamTagInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	v, ok := i.tagger.tags.Load(info.SSRC)
	if !ok {
		return w
	}
	tag := v.(streamTag)
	var midID, ridID uint8
	for _, e := range info.RTPHeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			if !tag.repair {
				ridID = uint8(e.ID)
			}
		case sdp.SDESRepairRTPStreamIDURI:
			if tag.repair {
				ridID = uint8(e.ID)
			}
		}
	}
	if midID == 0 && ridID == 0 {
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if midID != 0 {
			_ = h.SetExtension(midID, tag.mid)
		}
		if ridID != 0 {
			_ = h.SetExtension(ridID, tag.rid)
		}
		return w.Write(h, payload, a)
	})
}
