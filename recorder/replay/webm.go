package replay

import (
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"path"
	"time"

	"github.com/classcast/classcast/recorder/catalog"
	"github.com/classcast/classcast/recorder/fmp4x"
	"github.com/classcast/classcast/recorder/storage"
	"github.com/classcast/classcast/recorder/webm"
)

// webmCodecs maps stored codecs to WebM codec IDs. H.264 has none (WebM
// does not carry it; HLS plays it), nor has G.711.
var webmCodecs = map[string]string{"vp8": "V_VP8", "vp9": "V_VP9", "opus": "A_OPUS"}

// opusSeekPreRoll is what the Matroska Opus mapping recommends: decoding
// from 80 ms before a seek target converges.
const opusSeekPreRoll = 80 * time.Millisecond

// playWebM serves one video track and one audio track of an asset muxed
// into a single seekable WebM file: GET /media/{id}/play.webm
// [?video=NAME][&audio=NAME]. By default the first VP8/VP9 video track and
// the first Opus audio track.
//
// It exists for VP8, which the recorder stores as VP8 in fMP4: that plays
// in ffmpeg and Firefox but not in Chromium, whose MP4 parser has no vp08
// sample entry (see package webm). HLS stays the route for H.264 and VP9.
// The file is laid out from the fragments' sample tables on each request
// (as the HLS playlists are) and its payloads are read from the part files
// in place, so Range requests — how <video> seeks — cost one moof scan and
// the bytes asked for.
func (h *handler) playWebM(w http.ResponseWriter, r *http.Request) {
	a, ok := h.asset(w, r, ActionPlay)
	if !ok {
		return
	}
	video := pickTrack(a, "video", r.URL.Query().Get("video"))
	audio := pickTrack(a, "audio", r.URL.Query().Get("audio"))
	if video == nil && audio == nil {
		http.Error(w, "no track of this asset fits in WebM (VP8, VP9, Opus)", http.StatusNotFound)
		return
	}
	var objs []storage.Object
	defer func() {
		for _, o := range objs {
			o.Close()
		}
	}()
	var tracks []webm.Track
	for _, t := range []*catalog.Track{video, audio} {
		if t == nil {
			continue
		}
		wt, opened, err := h.webmTrack(a, t, len(objs))
		objs = append(objs, opened...)
		if err != nil {
			h.cfg.Logger.Warn("webm: track unreadable", "asset", a.ID, "track", t.Name, "err", err)
			http.Error(w, "track unreadable", http.StatusInternalServerError)
			return
		}
		tracks = append(tracks, wt)
	}
	layout, err := webm.NewLayout(tracks)
	if err != nil {
		h.cfg.Logger.Warn("webm: layout failed", "asset", a.ID, "err", err)
		http.Error(w, "cannot remux", http.StatusInternalServerError)
		return
	}
	sources := make([]io.ReaderAt, len(objs))
	var mod time.Time
	tag := fnv.New64a()
	for i, o := range objs {
		sources[i] = o
		if o.ModTime().After(mod) {
			mod = o.ModTime()
		}
		fmt.Fprintf(tag, "%d/", o.Size())
	}
	rd, err := layout.Reader(sources)
	if err != nil {
		http.Error(w, "cannot remux", http.StatusInternalServerError)
		return
	}
	// The ETag changes when a part file grows (a lesson still recording), so
	// a Range request against an older layout is answered in full instead
	// of with bytes from a different file.
	fmt.Fprintf(tag, "%s/%s", r.URL.Query().Get("video"), r.URL.Query().Get("audio"))
	w.Header().Set("ETag", fmt.Sprintf(`"%x"`, tag.Sum64()))
	w.Header().Set("Content-Type", "video/webm")
	http.ServeContent(w, r, "", mod, io.NewSectionReader(rd, 0, layout.Size()))
}

// pickTrack returns the named track of kind (or, with no name, the first
// one) if its codec fits in WebM.
func pickTrack(a *catalog.Asset, kind, name string) *catalog.Track {
	for i := range a.Tracks {
		t := &a.Tracks[i]
		if t.Kind != kind || webmCodecs[t.Codec] == "" || (name != "" && t.Name != name) {
			continue
		}
		return t
	}
	return nil
}

// webmTrack opens the part files of t (sources numbered from firstSource
// on) and lists their samples as WebM frames. It returns the objects it
// opened, also on error, for the caller to close.
func (h *handler) webmTrack(a *catalog.Asset, t *catalog.Track, firstSource int) (webm.Track, []storage.Object, error) {
	wt := webm.Track{Video: t.Kind == "video", CodecID: webmCodecs[t.Codec]}
	var opened []storage.Object
	for i, f := range t.Files {
		obj, err := h.cfg.Store.Open(path.Join(a.Dir, f))
		if err != nil {
			return wt, opened, fmt.Errorf("open %s: %w", f, err)
		}
		opened = append(opened, obj)
		ix, err := fmp4x.Scan(obj, obj.Size())
		if err != nil {
			return wt, opened, fmt.Errorf("scan %s: %w", f, err)
		}
		init := make([]byte, ix.InitSize)
		if _, err := obj.ReadAt(init, 0); err != nil {
			return wt, opened, fmt.Errorf("read init of %s: %w", f, err)
		}
		entry, err := fmp4x.ParseEntry(init)
		if err != nil {
			return wt, opened, fmt.Errorf("init of %s: %w", f, err)
		}
		if i == 0 {
			describe(&wt, entry, t)
		}
		if ix.TimeScale == 0 {
			return wt, opened, fmt.Errorf("%w: %s has no time scale", ErrNoTimeScale, f)
		}
		for _, frag := range ix.Fragments {
			samples, err := fmp4x.ReadSamples(obj, frag)
			if err != nil {
				return wt, opened, fmt.Errorf("fragment at %d of %s: %w", frag.Offset, f, err)
			}
			for _, s := range samples {
				wt.Frames = append(wt.Frames, webm.Frame{Source: firstSource + i, Offset: s.Offset, Size: s.Size,
					Time: ticks(s.DTS, ix.TimeScale), Duration: ticks(uint64(s.Duration), ix.TimeScale), Key: s.Sync})
			}
		}
	}
	return wt, opened, nil
}

// describe fills the codec fields of a WebM track from the first part's
// sample entry (later parts may change the picture size; VP8 and VP9 carry
// it in every keyframe, so the decoder follows).
func describe(wt *webm.Track, e fmp4x.Entry, t *catalog.Track) {
	if wt.Video {
		wt.Width, wt.Height = e.Width, e.Height
		if wt.Width == 0 {
			wt.Width, wt.Height = t.Width, t.Height
		}
		return
	}
	wt.SampleRate = 48000
	wt.Channels = max(e.Channels, 1)
	wt.CodecPrivate = webm.OpusHead(wt.Channels, e.OpusPreSkip)
	wt.CodecDelay = time.Duration(e.OpusPreSkip) * time.Second / 48000
	wt.SeekPreRoll = opusSeekPreRoll
}

// ticks converts track time-scale units to a duration without overflow.
func ticks(v uint64, scale uint32) time.Duration {
	s := uint64(scale)
	return time.Duration(v/s)*time.Second + time.Duration((v%s)*uint64(time.Second)/s)
}
