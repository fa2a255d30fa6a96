// Package ingest connects classcast's non-LiveKit media paths to the SFU
// rooms: the RTSP gateway (sfu/rtsp: push, pull and playback), WHIP ingest,
// WHEP playback, the camera admin API and LiveKit's Ingress Twirp service.
//
// Everything here is glue over three seams: room.Room.PublishExternal (an
// ingest participant whose tracks are fed by track.Producers),
// room.Room.Published (tracks to attach track.RTPWriters to), and
// signaling.Keys (LiveKit access tokens).
//
// # Endpoints
//
//	RTSP  rtsp://host:8554/<room>/<name>          ANNOUNCE/RECORD (token with canPublish, or the room's stream key)
//	RTSP  rtsp://host:8554/<room>/<participant>   DESCRIBE/PLAY   (token with canSubscribe)
//	POST   /whip/<room>                  SDP offer → 201 answer, Location /whip/<room>/<session>
//	PATCH  /whip/<room>/<session>        application/trickle-ice-sdpfrag
//	DELETE /whip/<room>/<session>
//	POST   /whep/<room>/<participant>    SDP offer → 201 answer, Location /whep/<room>/<participant>/<session>
//	PATCH/DELETE /whep/<room>/<participant>/<session>
//	GET/POST /api/cameras, DELETE /api/cameras/<id>   pull cameras (roomAdmin or ingressAdmin)
//	/twirp/livekit.Ingress/…             LiveKit Ingress service (ingressAdmin)
//
// A WHIP offer may send simulcast (a=rid + a=simulcast:send, up to three
// encodings of a video section, as OBS and browsers do): the encodings
// become the layers of one published track, ordered by their rid
// restrictions or names (sdpoffer.Parse), so subscribers switch layers as
// with a LiveKit publisher. Offers are checked by package sdpoffer before a
// peer connection exists, and negotiated within NegotiateTimeout.
//
// WHIP and WHEP use `Authorization: Bearer <LiveKit token>`; a WHIP
// publisher may instead present the stream key of a WHIP ingress created
// through the Ingress service, which names its room and identity.
package ingest
