package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Catalog is the asset database. It is safe for concurrent use.
type Catalog struct {
	db  *sql.DB
	fts bool
}

// Open opens (creating if needed) the database at path and migrates it.
func Open(ctx context.Context, path string) (*Catalog, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("catalog: open: %w", err)
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serialises anyway
	c := &Catalog{db: db}
	if err := c.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the database.
func (c *Catalog) Close() error { return c.db.Close() }

// FullText reports whether text search uses FTS5 (else LIKE).
func (c *Catalog) FullText() bool { return c.fts }

// Put inserts or replaces an asset.
func (c *Catalog) Put(ctx context.Context, a *Asset) error {
	if a.ID == "" {
		return fmt.Errorf("%w: empty id", ErrInvalid)
	}
	doc, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("catalog: encode: %w", err)
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("catalog: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO assets
		(id, course, title, teacher, classroom, started_at, duration_ms, status, doc)
		VALUES (?,?,?,?,?,?,?,?,?)`,
		a.ID, a.Course, a.Title, a.Teacher, a.Classroom, a.Date.UnixMilli(), a.Duration.Milliseconds(), a.Status, doc)
	if err != nil {
		return fmt.Errorf("catalog: put: %w", err)
	}
	if _, err = tx.ExecContext(ctx, `DELETE FROM asset_tags WHERE asset_id=?`, a.ID); err != nil {
		return fmt.Errorf("catalog: put tags: %w", err)
	}
	for _, t := range a.Tags {
		if _, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO asset_tags(asset_id, tag) VALUES (?,?)`, a.ID, strings.ToLower(t)); err != nil {
			return fmt.Errorf("catalog: put tags: %w", err)
		}
	}
	if c.fts {
		if err = c.putFTS(ctx, tx, a); err != nil {
			return err
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("catalog: commit: %w", err)
	}
	return nil
}

func (c *Catalog) putFTS(ctx context.Context, tx *sql.Tx, a *Asset) error {
	chapters := make([]string, 0, len(a.Chapters))
	for _, ch := range a.Chapters {
		chapters = append(chapters, ch.Title)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM assets_fts WHERE id=?`, a.ID); err != nil {
		return fmt.Errorf("catalog: fts: %w", err)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO assets_fts(id, title, course, teacher, classroom, tags, chapters)
		VALUES (?,?,?,?,?,?,?)`, a.ID, a.Title, a.Course, a.Teacher, a.Classroom,
		strings.Join(a.Tags, " "), strings.Join(chapters, " "))
	if err != nil {
		return fmt.Errorf("catalog: fts: %w", err)
	}
	return nil
}

// Get returns one asset.
func (c *Catalog) Get(ctx context.Context, id string) (*Asset, error) {
	var doc []byte
	err := c.db.QueryRowContext(ctx, `SELECT doc FROM assets WHERE id=?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: get: %w", err)
	}
	var a Asset
	if err := json.Unmarshal(doc, &a); err != nil {
		return nil, fmt.Errorf("catalog: decode: %w", err)
	}
	return &a, nil
}

// Search returns the assets matching q, newest first.
func (c *Catalog) Search(ctx context.Context, q Query) ([]*Asset, error) {
	where, args := []string{"1=1"}, []any{}
	if q.Course != "" {
		where, args = append(where, "a.course = ? COLLATE NOCASE"), append(args, q.Course)
	}
	if q.Teacher != "" {
		where, args = append(where, "a.teacher = ? COLLATE NOCASE"), append(args, q.Teacher)
	}
	if q.Tag != "" {
		where = append(where, "EXISTS (SELECT 1 FROM asset_tags t WHERE t.asset_id=a.id AND t.tag=?)")
		args = append(args, strings.ToLower(q.Tag))
	}
	if !q.From.IsZero() {
		where, args = append(where, "a.started_at >= ?"), append(args, q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		where, args = append(where, "a.started_at < ?"), append(args, q.To.UnixMilli())
	}
	if words := textWords(q.Text); len(words) > 0 {
		w, a := c.textFilter(words)
		where, args = append(where, w), append(args, a...)
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	args = append(args, q.Limit, max(q.Offset, 0))
	rows, err := c.db.QueryContext(ctx, `SELECT a.doc FROM assets a WHERE `+strings.Join(where, " AND ")+
		` ORDER BY a.started_at DESC, a.id LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: search: %w", err)
	}
	defer rows.Close()
	var out []*Asset
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("catalog: search: %w", err)
		}
		a := &Asset{}
		if err := json.Unmarshal(doc, a); err != nil {
			return nil, fmt.Errorf("catalog: decode: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: search: %w", err)
	}
	return out, nil
}

// textWords keeps letters and digits only, so user text can never become
// FTS5 query syntax; every word must match (prefix match).
func textWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

func (c *Catalog) textFilter(words []string) (string, []any) {
	if c.fts {
		terms := make([]string, len(words))
		for i, w := range words {
			terms[i] = `"` + w + `"*`
		}
		return "a.id IN (SELECT id FROM assets_fts WHERE assets_fts MATCH ?)", []any{strings.Join(terms, " AND ")}
	}
	var parts []string
	var args []any
	for _, w := range words {
		parts = append(parts, "LOWER(CAST(a.doc AS TEXT)) LIKE ?")
		args = append(args, "%"+w+"%")
	}
	return strings.Join(parts, " AND "), args
}

// Delete removes an asset's row (its files are the caller's).
func (c *Catalog) Delete(ctx context.Context, id string) error {
	for _, q := range []string{`DELETE FROM assets WHERE id=?`, `DELETE FROM asset_tags WHERE asset_id=?`} {
		if _, err := c.db.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("catalog: delete: %w", err)
		}
	}
	if c.fts {
		if _, err := c.db.ExecContext(ctx, `DELETE FROM assets_fts WHERE id=?`, id); err != nil {
			return fmt.Errorf("catalog: delete: %w", err)
		}
	}
	return nil
}
