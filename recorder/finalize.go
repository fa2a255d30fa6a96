package recorder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/classcast/classcast/recorder/catalog"
	"github.com/classcast/classcast/recorder/clip"
	"github.com/classcast/classcast/recorder/fmp4x"
)

// finalize turns a recording directory into an asset: it checks every part
// file (cutting a torn tail back to the last complete fragment), derives
// the tracks and duration from what is on disk, cuts chapter clips, grabs a
// poster, catalogs the asset and finally writes the finalize marker. Every
// step is idempotent, so a crash during finalize is finished by Recover.
func (r *Recorder) finalize(ctx context.Context, dir, status, reason string) (*catalog.Asset, error) {
	var man manifest
	if err := readJSON(filepath.Join(dir, manifestFile), &man); err != nil {
		return nil, err
	}
	tracks, err := scanTracks(dir, man)
	if err != nil {
		return nil, err
	}
	a := &catalog.Asset{
		ID: man.ID, Room: man.Room, Course: man.Meta.Course, Title: man.Meta.Title,
		Teacher: man.Meta.Teacher, Classroom: man.Meta.Classroom, Tags: man.Meta.Tags,
		Date: man.Epoch, Status: status, Dir: filepath.Base(dir), Tracks: tracks,
	}
	if status != catalog.StatusComplete {
		a.Reason = reason
	}
	start, end := math.Inf(1), 0.0
	for _, t := range tracks {
		start, end = math.Min(start, t.Start), math.Max(end, t.End)
	}
	if len(tracks) > 0 {
		a.Duration = time.Duration((end - start) * float64(time.Second))
	}
	events, _ := readTimeline(filepath.Join(dir, timelineFile))
	if len(events) > 0 {
		a.Timeline = timelineFile
	}
	a.Chapters = chaptersOf(events, end)
	for i := range a.Chapters {
		if err := cutChapter(dir, i, &a.Chapters[i], tracks); err != nil {
			r.log.Warn("chapter clip not cut", "recording", man.ID, "chapter", i, "err", err)
		}
	}
	if r.cfg.FFmpegPath != "-" {
		if err := r.poster(ctx, dir, tracks); err == nil {
			a.Poster = posterFile
		} else if !errors.Is(err, clip.ErrNoFFmpeg) {
			r.log.Warn("no poster", "recording", man.ID, "err", err)
		}
	}
	if err := r.cfg.Catalog.Put(ctx, a); err != nil {
		return nil, err
	}
	if err := writeJSONAtomic(dir, finalFile, finalMarker{Status: status, Reason: reason, Finalized: r.cfg.Now()}); err != nil {
		return a, err
	}
	return a, nil
}

// scanTracks lists the part files of each manifest track, truncating torn
// tails; parts without a single complete fragment are left out.
func scanTracks(dir string, man manifest) ([]catalog.Track, error) {
	var out []catalog.Track
	for _, mt := range man.Tracks {
		files, _ := filepath.Glob(filepath.Join(dir, tracksDir, mt.Name+".[0-9][0-9][0-9].mp4"))
		sort.Strings(files)
		t := catalog.Track{Name: mt.Name, SID: mt.SID, Participant: mt.Participant, Kind: mt.Kind, Codec: mt.Codec}
		first := true
		for _, f := range files {
			ix, err := checkPart(f)
			if err != nil || len(ix.Fragments) == 0 {
				continue
			}
			ts := float64(ix.TimeScale)
			s, e := float64(ix.Fragments[0].BaseTime)/ts, float64(ix.End())/ts
			if first {
				t.Start, first = s, false
			}
			t.End = math.Max(t.End, e)
			t.Files = append(t.Files, tracksDir+"/"+filepath.Base(f))
		}
		if len(t.Files) > 0 {
			out = append(out, t)
		}
	}
	return out, nil
}

// checkPart scans a part file and cuts off a torn last fragment.
func checkPart(path string) (*fmp4x.Index, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	ix, err := fmp4x.Scan(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("recorder: scan %s: %w", filepath.Base(path), err)
	}
	if ix.Torn {
		if err := f.Truncate(ix.ValidEnd); err != nil {
			return nil, fmt.Errorf("recorder: truncate %s: %w", filepath.Base(path), err)
		}
		_ = f.Sync()
	}
	return ix, nil
}

// chaptersOf turns chapter events into spans; each ends where the next
// begins, the last at the end of the recording.
func chaptersOf(events []TimelineEvent, end float64) []catalog.Chapter {
	var out []catalog.Chapter
	for _, ev := range events {
		if ev.Kind != EventChapter || ev.T >= end {
			continue
		}
		var d struct {
			Title string `json:"title"`
		}
		_ = json.Unmarshal(ev.Data, &d)
		if d.Title == "" {
			d.Title = "Chapter " + strconv.Itoa(len(out)+1)
		}
		if n := len(out); n > 0 {
			out[n-1].End = ev.T
		}
		out = append(out, catalog.Chapter{Title: d.Title, Start: math.Max(ev.T, 0), End: end})
	}
	return out
}

// cutChapter cuts one clip file per track part overlapping the chapter.
// All tracks share one origin: the earliest keyframe at or before the
// chapter start among the video tracks, so the clip starts decodable and
// audio and video stay aligned.
func cutChapter(dir string, n int, ch *catalog.Chapter, tracks []catalog.Track) error {
	origin := ch.Start
	type src struct {
		s    *clip.Source
		name string
	}
	var srcs []src
	defer func() {
		for _, s := range srcs {
			s.s.Close()
		}
	}()
	for _, t := range tracks {
		for _, f := range t.Files {
			s, err := clip.OpenSource(filepath.Join(dir, f))
			if err != nil {
				return err
			}
			srcs = append(srcs, src{s: s, name: strings.TrimSuffix(filepath.Base(f), ".mp4")})
			ix := s.Index
			if t.Kind != "video" || len(ix.Fragments) == 0 {
				continue
			}
			if float64(ix.Fragments[0].BaseTime)/float64(ix.TimeScale) > ch.Start {
				continue // part starts after the chapter start
			}
			if k, err := s.SyncAtOrBefore(ch.Start); err == nil {
				origin = math.Min(origin, k)
			}
		}
	}
	cdir := filepath.Join(dir, clipsDir, strconv.Itoa(n))
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		return fmt.Errorf("recorder: %w", err)
	}
	ch.Clips = nil
	var firstErr error
	for _, s := range srcs {
		dst := filepath.Join(cdir, s.name+".mp4")
		err := s.s.Cut(dst, origin, ch.End, origin)
		if errors.Is(err, clip.ErrEmpty) {
			continue
		}
		if err != nil {
			firstErr = errors.Join(firstErr, err)
			continue
		}
		ch.Clips = append(ch.Clips, clipsDir+"/"+strconv.Itoa(n)+"/"+s.name+".mp4")
	}
	return firstErr
}

func (r *Recorder) poster(ctx context.Context, dir string, tracks []catalog.Track) error {
	for _, t := range tracks {
		if t.Kind != "video" {
			continue
		}
		at := t.Start + math.Min(1, (t.End-t.Start)/2)
		return clip.Poster(ctx, r.cfg.FFmpegPath, filepath.Join(dir, t.Files[0]), at, filepath.Join(dir, posterFile))
	}
	return clip.ErrNoFFmpeg
}
