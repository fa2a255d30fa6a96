package room

import "testing"

// TestSpeakerRanks: the classroom layer's active speakers rank cameras for
// the allocators, loudest first, everyone else after them.
func TestSpeakerRanks(t *testing.T) {
	r := fuzzRoom(t)
	if got := r.speakerRank("PA_a"); got != notSpeaking {
		t.Fatalf("before any report: rank %d", got)
	}
	r.SetSpeakerRanks([]string{"PA_b", "PA_a"})
	if a, b, c := r.speakerRank("PA_a"), r.speakerRank("PA_b"), r.speakerRank("PA_c"); a != 1 || b != 0 || c != notSpeaking {
		t.Errorf("ranks a %d b %d c %d, want 1 0 %d", a, b, c, notSpeaking)
	}
	r.SetSpeakerRanks(nil)
	if got := r.speakerRank("PA_b"); got != notSpeaking {
		t.Errorf("after silence: rank %d", got)
	}
}
