package classroom

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSpeakerDetectorHysteresisAndTopN(t *testing.T) {
	d := NewSpeakerDetector(2)
	round := func(levels map[string]uint8) []string {
		var s []LevelSample
		for sid, l := range levels {
			s = append(s, LevelSample{ParticipantSID: sid, Level: l})
		}
		d.Update(s)
		return d.Active()
	}
	if got := round(map[string]uint8{"a": 20}); len(got) != 1 || got[0] != "a" {
		t.Fatalf("loud a: %v", got)
	}
	// One quiet sample does not end speech (release + hysteresis).
	if got := round(map[string]uint8{"a": 127}); len(got) != 1 {
		t.Fatalf("a dropped after one quiet sample: %v", got)
	}
	// Sustained silence does.
	var got []string
	for i := 0; i < 8; i++ {
		got = round(map[string]uint8{"a": 127})
	}
	if len(got) != 0 {
		t.Fatalf("a still active after silence: %v", got)
	}
	// Top-N by level.
	for i := 0; i < 3; i++ {
		got = round(map[string]uint8{"a": 30, "b": 10, "c": 20})
	}
	if strings.Join(got, ",") != "b,c" {
		t.Fatalf("top 2: %v", got)
	}
	// Faint noise (-50 dBov) never starts speech.
	d2 := NewSpeakerDetector(3)
	for i := 0; i < 20; i++ {
		d2.Update([]LevelSample{{ParticipantSID: "n", Level: 50}})
	}
	if len(d2.Active()) != 0 {
		t.Fatal("noise counted as speech")
	}
}

func TestSpeakerDetectorReportsChangesOnly(t *testing.T) {
	d := NewSpeakerDetector(3)
	if ch := d.Update([]LevelSample{{ParticipantSID: "a", Level: 20}}); len(ch) != 1 || !ch[0].Active {
		t.Fatalf("start: %v", ch)
	}
	if ch := d.Update([]LevelSample{{ParticipantSID: "a", Level: 22}}); ch != nil {
		t.Fatalf("no change reported: %v", ch)
	}
	var ch = d.Update(nil)
	for i := 0; i < 10 && ch == nil; i++ {
		ch = d.Update(nil) // a left: decays as silence
	}
	if len(ch) != 1 || ch[0].Active || ch[0].Sid != "a" {
		t.Fatalf("stop: %v", ch)
	}
}

func TestBucket(t *testing.T) {
	now := time.Unix(0, 0)
	b := newBucket(20, 40, now)
	n := 0
	for i := 0; i < 100; i++ {
		if b.take(now) {
			n++
		}
	}
	if n != 40 {
		t.Fatalf("burst %d", n)
	}
	now = now.Add(500 * time.Millisecond)
	n = 0
	for i := 0; i < 100; i++ {
		if b.take(now) {
			n++
		}
	}
	if n != 10 {
		t.Fatalf("refill %d", n)
	}
	if !b.shouldTell(now) || b.shouldTell(now.Add(500*time.Millisecond)) || !b.shouldTell(now.Add(time.Second)) {
		t.Fatal("telling is not once a second")
	}
}

var boardCases = []struct {
	name, in string
	code     string // "" = valid
}{
	{"stroke", `{"op":"stroke","page":0,"stroke":{"id":"s1","tool":"pen","color":"#e11d48","width":3,"points":[[0.1,0.2],[0.3,0.4]]}}`, ""},
	{"text", `{"op":"stroke","page":1,"stroke":{"id":"t","tool":"text","color":"#000","width":1,"points":[],"text":"hi"}}`, ""},
	{"undo", `{"op":"undo","page":0,"stroke_id":"s1"}`, ""},
	{"clear", `{"op":"clear","page":3}`, ""},
	{"page", `{"op":"page","page":2}`, ""},
	{"sync", `{"op":"sync"}`, ""},
	{"malformed", `{"op":`, codeBadRequest},
	{"unknown op", `{"op":"flip"}`, codeBadRequest},
	{"negative page", `{"op":"page","page":-1}`, codeBadRequest},
	{"no stroke", `{"op":"stroke","page":0}`, codeBadRequest},
	{"bad tool", `{"op":"stroke","page":0,"stroke":{"id":"s","tool":"laser","points":[[0,0]]}}`, codeBadRequest},
	{"nan-ish", `{"op":"stroke","page":0,"stroke":{"id":"s","tool":"pen","points":[[0,1e300]]}}`, codeBadRequest},
	{"no id", `{"op":"stroke","page":0,"stroke":{"tool":"pen","points":[[0,0]]}}`, codeBadRequest},
	{"undo no id", `{"op":"undo","page":0}`, codeBadRequest},
}

func TestParseBoardOp(t *testing.T) {
	for _, c := range boardCases {
		_, r := ParseBoardOp([]byte(c.in))
		got := ""
		if r != nil {
			got = r.code
		}
		if got != c.code {
			t.Errorf("%s: %q, want %q", c.name, got, c.code)
		}
	}
	pts := make([][2]float64, maxStrokePoints+1)
	b, _ := json.Marshal(BoardOp{Op: OpStroke, Stroke: &Stroke{ID: "big", Tool: "pen", Points: pts}})
	if _, r := ParseBoardOp(b); r == nil || !strings.Contains(r.message, "5000") {
		t.Errorf("5001 points: %v", r)
	}
}

func TestBoardApplyAndSnapshot(t *testing.T) {
	b := NewBoard()
	apply := func(in string) *refusal {
		op, r := ParseBoardOp([]byte(in))
		if r != nil {
			return r
		}
		_, r = b.Apply(op, "m")
		return r
	}
	pts := strings.Repeat("[0.123456,0.654321],", 999) + "[0,0]"
	for i := 0; i < 30; i++ {
		if r := apply(`{"op":"stroke","page":` + string(rune('0'+i%3)) + `,"stroke":{"id":"s` + string(rune('a'+i)) + `","tool":"pen","points":[` + pts + `]}}`); r != nil {
			t.Fatal(r)
		}
	}
	if r := apply(`{"op":"undo","page":0,"stroke_id":"nope"}`); r == nil || r.code != codeNotFound {
		t.Fatalf("undo unknown: %v", r)
	}
	if r := apply(`{"op":"clear","page":2}`); r != nil {
		t.Fatal(r)
	}
	parts := b.Snapshot()
	strokes := 0
	for i, p := range parts {
		if len(p) > snapshotPartBytes+maxStrokeBytes {
			t.Errorf("part %d is %d bytes", i, len(p))
		}
		var s struct {
			Seq   uint64                       `json:"seq"`
			Pages map[string][]json.RawMessage `json:"pages"`
			Part  int                          `json:"part"`
			Parts int                          `json:"parts"`
		}
		if err := json.Unmarshal(p, &s); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if s.Seq != b.Seq() || s.Part != i+1 || s.Parts != len(parts) {
			t.Errorf("part %d header %+v", i, s)
		}
		for _, list := range s.Pages {
			strokes += len(list)
		}
	}
	if strokes != 20 || len(parts) < 2 {
		t.Errorf("%d strokes in %d parts, want 20 in several", strokes, len(parts))
	}
	t.Logf("board of %d bytes → %d snapshot parts", b.bytes, len(parts))
}

func FuzzParseBoardOp(f *testing.F) {
	for _, c := range boardCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		op, r := ParseBoardOp(in)
		if (op == nil) == (r == nil) {
			t.Fatal("exactly one of op and refusal expected")
		}
		if op == nil || op.Op == OpSync {
			return
		}
		b := NewBoard()
		if out, r := b.Apply(op, "x"); r == nil && out.Seq != 1 {
			t.Fatalf("seq %d", out.Seq)
		}
		for _, p := range b.Snapshot() {
			if !json.Valid(p) {
				t.Fatalf("invalid snapshot %s", p)
			}
		}
	})
}

func FuzzRequest(f *testing.F) {
	f.Add([]byte(`{"id":"1","type":"question.raise","text":"why?"}`))
	f.Add([]byte(`{"id":"2","type":"stage.add","classroom":"a"}`))
	f.Add([]byte(`{"type":`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var r Request
		_ = json.Unmarshal(in, &r)
		if _, ok := handlers[r.Type]; ok && r.Type == "" {
			t.Fatal("empty type has a handler")
		}
	})
}
