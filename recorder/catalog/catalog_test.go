package catalog

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func day(d int) time.Time { return time.Date(2025, 3, d, 9, 0, 0, 0, time.UTC) }

func seed(t *testing.T) *Catalog {
	t.Helper()
	c, err := Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	assets := []*Asset{
		{ID: "a1", Course: "Math 101", Title: "Fractions and decimals", Teacher: "Ada", Classroom: "R1",
			Date: day(1), Duration: time.Hour, Status: StatusComplete, Tags: []string{"algebra", "Beginner"},
			Chapters: []Chapter{{Title: "Warm-up exercises"}, {Title: "Long division"}}},
		{ID: "a2", Course: "Math 101", Title: "Geometry: triangles", Teacher: "Grace", Date: day(2),
			Status: StatusIncomplete, Tags: []string{"geometry"}},
		{ID: "a3", Course: "Physics", Title: "Newton's laws", Teacher: "Ada", Date: day(3),
			Status: StatusRecovered, Tags: []string{"mechanics", "beginner"}},
		{ID: "a4", Course: "Café français", Title: "Les élèves; DROP TABLE assets", Teacher: "Émile", Date: day(4),
			Status: StatusComplete},
	}
	for _, a := range assets {
		if err := c.Put(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestSearch(t *testing.T) {
	c := seed(t)
	t.Logf("full text (FTS5): %v", c.FullText())
	cases := []struct {
		name string
		q    Query
		want []string
	}{
		{"all newest first", Query{}, []string{"a4", "a3", "a2", "a1"}},
		{"course", Query{Course: "math 101"}, []string{"a2", "a1"}},
		{"teacher", Query{Teacher: "Ada"}, []string{"a3", "a1"}},
		{"teacher unicode", Query{Teacher: "Émile"}, []string{"a4"}},
		{"tag case-insensitive", Query{Tag: "BEGINNER"}, []string{"a3", "a1"}},
		{"date range", Query{From: day(2), To: day(4)}, []string{"a3", "a2"}},
		{"course and teacher", Query{Course: "Math 101", Teacher: "Ada"}, []string{"a1"}},
		{"text title", Query{Text: "triangles"}, []string{"a2"}},
		{"text prefix", Query{Text: "fract"}, []string{"a1"}},
		{"text chapter", Query{Text: "division"}, []string{"a1"}},
		{"text all words", Query{Text: "newton laws"}, []string{"a3"}},
		{"text no match", Query{Text: "chemistry"}, nil},
		{"text syntax is inert", Query{Text: `"drop* (table) -`}, []string{"a4"}},
		{"text accents", Query{Text: "élèves"}, []string{"a4"}},
		{"tag and text", Query{Tag: "beginner", Text: "newton"}, []string{"a3"}},
		{"limit offset", Query{Limit: 2, Offset: 1}, []string{"a3", "a2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Search(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range got {
				ids = append(ids, a.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("got %v, want %v", ids, tc.want)
			}
		})
	}
}

func TestPutGetReplaceMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	c, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	a := &Asset{ID: "x", Title: "one", Date: day(1), Status: StatusRecovered, Tags: []string{"a"},
		Chapters: []Chapter{{Title: "c1", Start: 0, End: 5, Clips: []string{"clips/0/v.mp4"}}}}
	if err := c.Put(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	a.Title, a.Status, a.Tags = "two", StatusComplete, []string{"b"}
	if err := c.Put(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c, err = Open(context.Background(), path) // re-open: migrations are not re-applied
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.Get(context.Background(), "x")
	if err != nil || got.Title != "two" || got.Status != StatusComplete || got.Chapters[0].Clips[0] != "clips/0/v.mp4" {
		t.Fatalf("got %+v, %v", got, err)
	}
	if r, _ := c.Search(context.Background(), Query{Tag: "a"}); len(r) != 0 {
		t.Fatalf("stale tag matched: %v", r)
	}
	if r, _ := c.Search(context.Background(), Query{Text: "one"}); len(r) != 0 {
		t.Fatalf("stale text matched")
	}
	if _, err := c.Get(context.Background(), "nope"); err == nil {
		t.Fatal("want ErrNotFound")
	}
}
