package allocator

import (
	"maps"
	"math/rand/v2"
	"testing"
)

func meetingTiles(n int) []Track {
	// Input order deliberately not the speaker order.
	tracks := make([]Track, 0, n)
	for i := range n {
		rank := (i*5 + 3) % n
		tracks = append(tracks, camera(tileID(rank), ClassCamera, rank))
	}
	return tracks
}

func tileID(rank int) string { return "tile" + string(rune('0'+rank)) }

func TestAllocateTable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		estimate int
		tracks   []Track
		want     map[string]string
	}{
		{"audio only at 30 kbps", 30_000, []Track{audio("mic")}, map[string]string{"mic": "s0t0"}},
		{"audio kept even below its bitrate", 10_000, []Track{audio("mic")}, map[string]string{"mic": "s0t0"}},
		{"audio disabled by subscriber", 1_000_000, []Track{with(audio("mic"), func(t *Track) { t.Request.Disabled = true })},
			map[string]string{"mic": "paused:subscriber-disabled"}},
		{"80 kbps: video paused, audio kept", 80_000, []Track{audio("mic"), camera("cam", ClassMasterCamera, 0)},
			map[string]string{"mic": "s0t0", "cam": "paused:bandwidth"}},
		{"300 kbps whiteboard + camera", 300_000,
			[]Track{camera("cam", ClassMasterCamera, 0), audio("mic"), whiteboard("wb")},
			map[string]string{"mic": "s0t0", "wb": "s1t0", "cam": "s0t0"}},
		{"600 kbps whiteboard + camera", 600_000,
			[]Track{camera("cam", ClassMasterCamera, 0), audio("mic"), whiteboard("wb")},
			map[string]string{"mic": "s0t0", "wb": "s1t0", "cam": "s1t0"}},
		{"whiteboard before master camera before other cameras", 270_000,
			[]Track{camera("student", ClassCamera, 0), camera("teacher", ClassMasterCamera, 3), whiteboard("wb")},
			map[string]string{"wb": "s0t0", "teacher": "s0t1", "student": "s0t0"}},
		{"cheaper track still gets its lowest layer when an expensive one does not fit", 150_000,
			[]Track{with(whiteboard("wb"), func(t *Track) { t.Bitrates[0][0] = 400_000; t.Bitrates[1][0] = 0 }),
				camera("cam", ClassMasterCamera, 0)},
			map[string]string{"wb": "paused:bandwidth", "cam": "s0t1"}},
		{"2 Mbps meeting, 9 tiles by speaker rank", 2_000_000, meetingTiles(9),
			map[string]string{
				"tile0": "s2t1", "tile1": "s1t1", "tile2": "s0t2", "tile3": "s0t1",
				"tile4": "s0t0", "tile5": "s0t0", "tile6": "s0t0", "tile7": "s0t0", "tile8": "s0t0",
			}},
		{"400 kbps meeting, 9 tiles: the last ones paused", 400_000, meetingTiles(9),
			map[string]string{
				"tile0": "s0t0", "tile1": "s0t0", "tile2": "s0t0", "tile3": "s0t0", "tile4": "s0t0", "tile5": "s0t0",
				"tile6": "paused:bandwidth", "tile7": "paused:bandwidth", "tile8": "paused:bandwidth",
			}},
		// 74k − 5 % − 24k audio leaves 46k: 77 % of the camera's 60k lowest
		// layer. A flowing camera keeps it (hysteresis against the 0.85 ×
		// cut of the estimate); one not flowing is not started on it.
		{"flowing camera keeps its lowest layer on a slightly short budget", 74_000,
			[]Track{audio("mic"), with(camera("cam", ClassMasterCamera, 0), func(t *Track) { t.Forwarding = true })},
			map[string]string{"mic": "s0t0", "cam": "s0t0"}},
		{"paused camera is not resumed on a slightly short budget", 74_000,
			[]Track{audio("mic"), camera("cam", ClassMasterCamera, 0)},
			map[string]string{"mic": "s0t0", "cam": "paused:bandwidth"}},
		{"flowing camera paused when well short", 60_000,
			[]Track{audio("mic"), with(camera("cam", ClassMasterCamera, 0), func(t *Track) { t.Forwarding = true })},
			map[string]string{"mic": "s0t0", "cam": "paused:bandwidth"}},
		{"a kept lowest layer leaves nothing for the tracks after it", 120_000,
			[]Track{audio("mic"), with(whiteboard("wb"), func(t *Track) { t.Forwarding = true; t.Bitrates[0][0] = 100_000 }),
				with(camera("cam", ClassMasterCamera, 0), func(t *Track) { t.Forwarding = true })},
			map[string]string{"mic": "s0t0", "wb": "s0t0", "cam": "paused:bandwidth"}},
		{"priority beats speaker rank", 700_000,
			[]Track{camera("speaker", ClassCamera, 0), with(camera("pinned", ClassCamera, 4), func(t *Track) { t.Priority = 1 })},
			map[string]string{"pinned": "s2t0", "speaker": "s0t0"}},
		{"requested 320x180 caps the layer", 5_000_000,
			[]Track{with(camera("cam", ClassCamera, 0), func(t *Track) { t.Request.Width, t.Request.Height = 320, 180 })},
			map[string]string{"cam": "s0t2"}},
		{"requested 400x300 picks the layer at least that large", 5_000_000,
			[]Track{with(camera("cam", ClassCamera, 0), func(t *Track) { t.Request.Width, t.Request.Height = 400, 300 })},
			map[string]string{"cam": "s1t2"}},
		{"requested max quality and 15 fps", 5_000_000,
			[]Track{with(camera("cam", ClassCamera, 0), func(t *Track) {
				t.Request.HasMaxSpatial, t.Request.MaxSpatial, t.Request.FPS = true, 1, 15
			})},
			map[string]string{"cam": "s1t1"}},
		{"publisher muted frees the budget for others", 700_000,
			[]Track{with(camera("teacher", ClassMasterCamera, 0), func(t *Track) { t.PublisherMuted = true }), camera("student", ClassCamera, 0)},
			map[string]string{"teacher": "paused:publisher-muted", "student": "s2t0"}},
		{"muted and disabled keeps both reasons", 700_000,
			[]Track{with(camera("cam", ClassCamera, 0), func(t *Track) { t.PublisherMuted, t.Request.Disabled = true, true })},
			map[string]string{"cam": "paused:publisher-muted|subscriber-disabled"}},
		{"layer missing: next lower layer used", 5_000_000,
			[]Track{with(camera("cam", ClassCamera, 0), func(t *Track) { t.Bitrates[2] = [MaxTemporal]int{} })},
			map[string]string{"cam": "s1t2"}},
		{"lowest layer missing: starts from the next", 300_000,
			[]Track{with(camera("cam", ClassCamera, 0), func(t *Track) { t.Bitrates[0] = [MaxTemporal]int{} })},
			map[string]string{"cam": "s1t0"}},
		{"only layers above the request received: paused for layer missing", 5_000_000,
			[]Track{with(camera("cam", ClassCamera, 0), func(t *Track) {
				t.Bitrates[0] = [MaxTemporal]int{}
				t.Request.Width, t.Request.Height = 320, 180
			})},
			map[string]string{"cam": "paused:layer-missing"}},
		{"top temporal layer missing", 5_000_000,
			[]Track{with(camera("cam", ClassCamera, 0), func(t *Track) { t.Bitrates[2][2] = 0 })},
			map[string]string{"cam": "s2t1"}},
		{"recovery: same tracks, budget back", 300_000, []Track{audio("mic"), camera("cam", ClassMasterCamera, 0)},
			map[string]string{"mic": "s0t0", "cam": "s1t0"}},
		{"zero estimate", 0, []Track{audio("mic"), camera("cam", ClassMasterCamera, 0)},
			map[string]string{"mic": "s0t0", "cam": "paused:bandwidth"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Allocate(tc.estimate, tc.tracks, Config{})
			if d := describeAll(got); !maps.Equal(d, tc.want) {
				t.Errorf("got  %v\nwant %v", d, tc.want)
			}
			checkInvariants(t, tc.tracks, got)
		})
	}
}

func TestAllocateHeadroom(t *testing.T) {
	t.Parallel()
	tracks := []Track{camera("cam", ClassCamera, 0)}
	// 158 kbit/s fits q/t2 (150k) with 5% headroom (150.1k) but not with 10%.
	if got := describe(Allocate(158_000, tracks, Config{}).Tracks[0]); got != "s0t2" {
		t.Errorf("default headroom: %s", got)
	}
	if got := describe(Allocate(158_000, tracks, Config{Headroom: 0.10}).Tracks[0]); got != "s0t1" {
		t.Errorf("10%% headroom: %s", got)
	}
	if got := describe(Allocate(150_000, tracks, Config{Headroom: -1}).Tracks[0]); got != "s0t2" {
		t.Errorf("no headroom: %s", got)
	}
}

func TestAllocateNextUpgrade(t *testing.T) {
	t.Parallel()
	tracks := []Track{audio("mic"), camera("cam", ClassMasterCamera, 0)}
	a := Allocate(300_000, tracks, Config{})
	// mic 24k + cam h/t0 200k; next step is h/t1 (350k).
	if a.Total != 224_000 || a.NextUpgradeTotal != 374_000 {
		t.Errorf("total %d next %d", a.Total, a.NextUpgradeTotal)
	}
	a = Allocate(80_000, tracks, Config{})
	if a.NextUpgradeTotal != 84_000 {
		t.Errorf("paused: next %d, want 84000 (resume at q/t0)", a.NextUpgradeTotal)
	}
	a = Allocate(10_000_000, tracks, Config{})
	if a.NextUpgradeTotal != 0 {
		t.Errorf("at want: next %d", a.NextUpgradeTotal)
	}
}

// TestAllocateRandomInvariants drives Allocate with random track sets.
func TestAllocateRandomInvariants(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var tracks []Track
		for i := range rng.IntN(12) {
			var tr Track
			switch rng.IntN(4) {
			case 0:
				tr = audio("a")
			case 1:
				tr = whiteboard("w")
			default:
				tr = camera("c", Class(1+rng.IntN(3)), rng.IntN(9))
			}
			tr.ID = tileID(i)
			for s := range MaxSpatial {
				if rng.IntN(5) == 0 {
					tr.Bitrates[s] = [MaxTemporal]int{}
				}
			}
			tr.PublisherMuted = rng.IntN(8) == 0
			tr.Request.Disabled = rng.IntN(8) == 0
			if rng.IntN(3) == 0 {
				tr.Request.Width, tr.Request.Height = 320*(1+rng.IntN(4)), 180*(1+rng.IntN(4))
			}
			tracks = append(tracks, tr)
		}
		checkInvariants(t, tracks, Allocate(rng.IntN(4_000_000), tracks, Config{}))
	}
}

func checkInvariants(t *testing.T, tracks []Track, a Allocation) {
	t.Helper()
	audioTotal, videoTotal := 0, 0
	for i, ta := range a.Tracks {
		tr := tracks[i]
		if ta.Paused {
			if ta.Reasons == 0 || ta.Bitrate != 0 {
				t.Fatalf("%s paused without reason or with bitrate: %+v", tr.ID, ta)
			}
			if tr.Kind == KindAudio && ta.Reasons.Has(PauseBandwidth) {
				t.Fatalf("audio %s paused for bandwidth", tr.ID)
			}
			continue
		}
		if tr.Kind == KindAudio {
			audioTotal += ta.Bitrate
			continue
		}
		videoTotal += ta.Bitrate
		if tr.Bitrates[ta.Layer.Spatial][ta.Layer.Temporal] <= 0 {
			t.Fatalf("%s allocated a layer not received: %+v", tr.ID, ta)
		}
		if ta.Want.Less(ta.Layer) || ta.Layer.Temporal > ta.Want.Temporal {
			t.Fatalf("%s above its want: %+v", tr.ID, ta)
		}
	}
	// Over budget only by lowest layers kept for flowing tracks, each at
	// most 1/keepLowest of what was left for it.
	slack := 0
	for i, ta := range a.Tracks {
		if tr := tracks[i]; tr.Forwarding && tr.Kind == KindVideo && !ta.Paused {
			slack += int(float64(ta.Bitrate) * (1 - keepLowest))
		}
	}
	if videoTotal > max(0, a.Budget-audioTotal)+slack {
		t.Fatalf("video %d exceeds budget %d - audio %d (+ %d kept)", videoTotal, a.Budget, audioTotal, slack)
	}
}

func BenchmarkAllocateMeeting(b *testing.B) {
	tracks := append(meetingTiles(9), audio("mic"), whiteboard("wb"))
	b.ReportAllocs()
	for b.Loop() {
		_ = Allocate(2_000_000, tracks, Config{})
	}
}
