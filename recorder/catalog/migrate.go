package catalog

import (
	"context"
	"fmt"
)

// migrations are applied in order, each once, in its own transaction; the
// index of the last one applied is kept in schema_version. Append only.
var migrations = []string{
	`CREATE TABLE assets (
		id TEXT PRIMARY KEY,
		course TEXT NOT NULL DEFAULT '',
		title TEXT NOT NULL DEFAULT '',
		teacher TEXT NOT NULL DEFAULT '',
		classroom TEXT NOT NULL DEFAULT '',
		started_at INTEGER NOT NULL,
		duration_ms INTEGER NOT NULL DEFAULT 0,
		status TEXT NOT NULL,
		doc BLOB NOT NULL
	);
	CREATE INDEX assets_course ON assets(course COLLATE NOCASE, started_at);
	CREATE INDEX assets_teacher ON assets(teacher COLLATE NOCASE, started_at);
	CREATE INDEX assets_started ON assets(started_at);
	CREATE TABLE asset_tags (asset_id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (asset_id, tag));
	CREATE INDEX asset_tags_tag ON asset_tags(tag);`,
}

// ftsMigration is applied when the SQLite build has FTS5; it is tracked by
// the existence of the table, so a database moved to a build without FTS5
// still opens (text search then falls back to LIKE).
const ftsMigration = `CREATE VIRTUAL TABLE IF NOT EXISTS assets_fts USING fts5(
	id UNINDEXED, title, course, teacher, classroom, tags, chapters, tokenize='unicode61')`

func (c *Catalog) migrate(ctx context.Context) error {
	if _, err := c.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("catalog: migrate: %w", err)
	}
	var v int
	if err := c.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return fmt.Errorf("catalog: migrate: %w", err)
	}
	for i := v; i < len(migrations); i++ {
		tx, err := c.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("catalog: migrate: %w", err)
		}
		if _, err = tx.ExecContext(ctx, migrations[i]); err == nil {
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_version(version) VALUES (?)`, i+1)
		}
		if err == nil {
			err = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
		if err != nil {
			return fmt.Errorf("catalog: migration %d: %w", i+1, err)
		}
	}
	if _, err := c.db.ExecContext(ctx, ftsMigration); err == nil {
		c.fts = true
	}
	return nil
}
