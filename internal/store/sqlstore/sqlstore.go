// Package sqlstore implements store.Store over database/sql. The SQLite and
// PostgreSQL backends share it and differ only in their Dialect and their
// migration files. Queries are written with '?' placeholders and rewritten
// to '$n' for dialects that need it. Times are stored as int64 Unix
// nanoseconds (UTC) so that both databases compare and group them alike.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"maas/internal/store"
)

// Dialect is what differs between databases.
type Dialect struct {
	Name         string
	DollarParams bool                 // rewrite '?' to '$1', '$2', ...
	IsUnique     func(err error) bool // unique or primary-key violation
	IsForeignKey func(err error) bool // foreign-key violation
}

// DB is a store.Store over a *sql.DB.
type DB struct {
	db *sql.DB
	d  Dialect
}

var _ store.Store = (*DB)(nil)

// New wraps db; the schema must already be migrated (see Migrate).
func New(db *sql.DB, d Dialect) *DB { return &DB{db: db, d: d} }

// SQL returns the underlying database handle.
func (s *DB) SQL() *sql.DB { return s.db }

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// q rewrites placeholders for the dialect.
func (s *DB) q(query string) string {
	if !s.d.DollarParams {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// classify maps driver errors to store errors.
func (s *DB) classify(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	case s.d.IsUnique != nil && s.d.IsUnique(err):
		return fmt.Errorf("%s: %w: %v", what, store.ErrConflict, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func encodeTags(tags map[string]string) string {
	if len(tags) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(tags) // a map[string]string always marshals
	return string(b)
}

func decodeTags(s string) (map[string]string, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode tags: %w", err)
	}
	return m, nil
}

// tx runs f in a transaction, committing when it returns nil.
func (s *DB) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// GetSetting implements store.Store.
func (s *DB) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT value FROM settings WHERE key = ?`), key).Scan(&v)
	return v, s.classify(err, fmt.Sprintf("get setting %q", key))
}

// SetSetting implements store.Store.
func (s *DB) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`), key, value)
	return s.classify(err, fmt.Sprintf("set setting %q", key))
}
