package replay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"path"
	"strings"

	"github.com/classcast/classcast/recorder/catalog"
	"github.com/classcast/classcast/recorder/fmp4x"
)

func (h *handler) readTimeline(a *catalog.Asset) ([]json.RawMessage, error) {
	obj, err := h.cfg.Store.Open(path.Join(a.Dir, a.Timeline))
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	var out []json.RawMessage
	sc := bufio.NewScanner(obj)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if json.Valid(sc.Bytes()) {
			out = append(out, append(json.RawMessage(nil), sc.Bytes()...))
		}
	}
	return out, nil
}

type scannedPart struct {
	file string
	ix   *fmp4x.Index
	init []byte
}

func (h *handler) scanTrack(a *catalog.Asset, t catalog.Track) ([]scannedPart, error) {
	var out []scannedPart
	for _, f := range t.Files {
		obj, err := h.cfg.Store.Open(path.Join(a.Dir, f))
		if err != nil {
			return nil, err
		}
		ix, err := fmp4x.Scan(obj, obj.Size())
		if err == nil {
			init := make([]byte, ix.InitSize)
			_, err = obj.ReadAt(init, 0)
			out = append(out, scannedPart{file: f, ix: ix, init: init})
		}
		obj.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// codecString is the RFC 6381 codec of a part, for the master playlist.
func codecString(codec string, init []byte) string {
	switch codec {
	case "h264":
		if i := bytes.Index(init, []byte("avcC")); i >= 0 && i+8 <= len(init) {
			return fmt.Sprintf("avc1.%02x%02x%02x", init[i+5], init[i+6], init[i+7])
		}
		return "avc1.42e01f"
	case "vp8", "vp9":
		// The VP codec ISO-BMFF binding's form ("vp08.00.10.08"), read from
		// the vpcC box. A bare "vp8" is no MP4 codecs value: players that do
		// read VP8 from MP4 (Firefox) refuse it. Chromium refuses any vp08
		// in MP4, which is why the web app plays VP8 lessons from play.webm.
		fourcc := map[string]string{"vp8": "vp08", "vp9": "vp09"}[codec]
		if e, err := fmp4x.ParseEntry(init); err == nil && e.FourCC == fourcc {
			return e.VPCodecString()
		}
		return fourcc + ".00.10.08"
	case "opus":
		return "opus"
	}
	return ""
}

// master lists the video tracks as variants sharing one audio group.
func (h *handler) master(w http.ResponseWriter, r *http.Request) {
	a, ok := h.asset(w, r, ActionPlay)
	if !ok {
		return
	}
	q := h.uriSuffix(r)
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	audioCodec, hasAudio := "", false
	for _, t := range a.Tracks {
		if t.Kind != "audio" || codecString(t.Codec, nil) == "" {
			continue
		}
		def := "NO"
		if !hasAudio {
			def, audioCodec, hasAudio = "YES", codecString(t.Codec, nil), true
		}
		fmt.Fprintf(&b, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=%q,DEFAULT=%s,AUTOSELECT=%s,URI=\"hls/%s.m3u8%s\"\n",
			t.Participant+" "+t.Name, def, def, t.Name, q)
	}
	variants := 0
	for _, t := range a.Tracks {
		if t.Kind != "video" {
			continue
		}
		parts, err := h.scanTrack(a, t)
		if err != nil || len(parts) == 0 {
			continue
		}
		var bytes int64
		for _, p := range parts {
			bytes += p.ix.ValidEnd
		}
		bw := int64(float64(bytes*8) / math.Max(t.End-t.Start, 1))
		codecs := codecString(t.Codec, parts[0].init)
		attrs := fmt.Sprintf("BANDWIDTH=%d", bw)
		if hasAudio {
			codecs += "," + audioCodec
			attrs += `,AUDIO="audio"`
		}
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:%s,CODECS=%q\nhls/%s.m3u8%s\n", attrs, codecs, t.Name, q)
		variants++
	}
	if variants == 0 && hasAudio { // audio-only lesson
		for _, t := range a.Tracks {
			if t.Kind == "audio" {
				fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS=%q\nhls/%s.m3u8%s\n", audioCodec, t.Name, q)
				break
			}
		}
	}
	w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	_, _ = w.Write([]byte(b.String()))
}

// media is one track's playlist: every fragment is a segment, addressed as
// a byte range of its part file; a new part (new init segment after a
// resolution change) is a discontinuity with its own EXT-X-MAP.
func (h *handler) media(w http.ResponseWriter, r *http.Request) {
	a, ok := h.asset(w, r, ActionPlay)
	if !ok {
		return
	}
	name := strings.TrimSuffix(r.PathValue("track"), ".m3u8")
	var tr *catalog.Track
	for i := range a.Tracks {
		if a.Tracks[i].Name == name {
			tr = &a.Tracks[i]
		}
	}
	if tr == nil {
		http.NotFound(w, r)
		return
	}
	parts, err := h.scanTrack(a, *tr)
	if err != nil {
		http.Error(w, "track unreadable", http.StatusInternalServerError)
		return
	}
	target := 1.0
	for _, p := range parts {
		for _, f := range p.ix.Fragments {
			target = math.Max(target, float64(f.Duration)/float64(p.ix.TimeScale))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:%d\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MEDIA-SEQUENCE:0\n", int(math.Ceil(target)))
	for i, p := range parts {
		uri := "../files/" + p.file + h.uriSuffix(r)
		if i > 0 {
			b.WriteString("#EXT-X-DISCONTINUITY\n")
		}
		fmt.Fprintf(&b, "#EXT-X-MAP:URI=%q,BYTERANGE=\"%d@0\"\n", uri, p.ix.InitSize)
		for _, f := range p.ix.Fragments {
			fmt.Fprintf(&b, "#EXTINF:%.5f,\n#EXT-X-BYTERANGE:%d@%d\n%s\n",
				float64(f.Duration)/float64(p.ix.TimeScale), f.Size, f.Offset, uri)
		}
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	_, _ = w.Write([]byte(b.String()))
}
