package allocator

import "fmt"

// Bitrates of a typical VP8 simulcast camera with three temporal layers
// (7.5/15/30 fps), cumulative per temporal layer.
var camBitrates = [MaxSpatial][MaxTemporal]int{
	{60_000, 100_000, 150_000},
	{200_000, 350_000, 500_000},
	{600_000, 1_000_000, 1_500_000},
}

func audio(id string) Track {
	t := Track{ID: id, Kind: KindAudio, Class: ClassAudio}
	t.Bitrates[0][0] = 24_000
	return t
}

func camera(id string, class Class, rank int) Track {
	return Track{
		ID: id, Kind: KindVideo, Class: class, SpeakerRank: rank,
		Bitrates: camBitrates,
		Dims:     [MaxSpatial]Dimensions{{320, 180}, {640, 360}, {1280, 720}},
		FPS:      [MaxTemporal]int{8, 15, 30},
	}
}

// whiteboard is a two-layer screen share without temporal layers (H.264).
func whiteboard(id string) Track {
	t := Track{ID: id, Kind: KindVideo, Class: ClassScreen}
	t.Bitrates[0][0] = 80_000
	t.Bitrates[1][0] = 200_000
	t.Dims = [MaxSpatial]Dimensions{{640, 360}, {1280, 720}}
	return t
}

func with(t Track, f func(*Track)) Track { f(&t); return t }

// describe renders a decision compactly for table expectations:
// "s1t2", "paused:bandwidth".
func describe(ta TrackAllocation) string {
	if ta.Paused {
		return "paused:" + ta.Reasons.String()
	}
	return fmt.Sprintf("s%dt%d", ta.Layer.Spatial, ta.Layer.Temporal)
}

func describeAll(a Allocation) map[string]string {
	m := make(map[string]string, len(a.Tracks))
	for _, ta := range a.Tracks {
		m[ta.TrackID] = describe(ta)
	}
	return m
}
