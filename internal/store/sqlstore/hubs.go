package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"maas/internal/store"
)

const hubCols = `name, region, tags, created_at, created_by, modified_at, modified_by`

type scanner interface{ Scan(dest ...any) error }

func scanHub(r scanner) (store.Hub, error) {
	var h store.Hub
	var tags string
	var c, m int64
	if err := r.Scan(&h.Name, &h.Region, &tags, &c, &h.CreatedBy, &m, &h.ModifiedBy); err != nil {
		return h, err
	}
	h.CreatedAt, h.ModifiedAt = fromNS(c), fromNS(m)
	var err error
	h.Tags, err = decodeTags(tags)
	return h, err
}

// PutHub implements store.Store. An update keeps CreatedAt and CreatedBy.
func (s *DB) PutHub(ctx context.Context, h store.Hub) (bool, error) {
	created := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM hubs WHERE name = ?`), h.Name).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			created = true
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO hubs (`+hubCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`),
				h.Name, h.Region, encodeTags(h.Tags), ns(h.CreatedAt), h.CreatedBy, ns(h.ModifiedAt), h.ModifiedBy)
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`UPDATE hubs SET region = ?, tags = ?, modified_at = ?, modified_by = ? WHERE name = ?`),
			h.Region, encodeTags(h.Tags), ns(h.ModifiedAt), h.ModifiedBy, h.Name)
		return err
	})
	return created, s.classify(err, fmt.Sprintf("put hub %q", h.Name))
}

// GetHub implements store.Store.
func (s *DB) GetHub(ctx context.Context, name string) (store.Hub, error) {
	h, err := scanHub(s.db.QueryRowContext(ctx, s.q(`SELECT `+hubCols+` FROM hubs WHERE name = ?`), name))
	return h, s.classify(err, fmt.Sprintf("get hub %q", name))
}

// ListHubs implements store.Store; hubs are ordered by name.
func (s *DB) ListHubs(ctx context.Context) ([]store.Hub, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+hubCols+` FROM hubs ORDER BY name`)
	if err != nil {
		return nil, s.classify(err, "list hubs")
	}
	defer rows.Close()
	var out []store.Hub
	for rows.Next() {
		h, err := scanHub(rows)
		if err != nil {
			return nil, s.classify(err, "list hubs")
		}
		out = append(out, h)
	}
	return out, s.classify(rows.Err(), "list hubs")
}

// DeleteHub implements store.Store.
func (s *DB) DeleteHub(ctx context.Context, name string) error {
	what := fmt.Sprintf("delete hub %q", name)
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM projects WHERE hub = ?`), name).Scan(&n); err != nil {
			return s.classify(err, what)
		}
		if n > 0 {
			return fmt.Errorf("%s: %w: it has %d project(s)", what, store.ErrConflict, n)
		}
		return s.execOne(ctx, tx, what, `DELETE FROM hubs WHERE name = ?`, name)
	})
}

// execOne runs a statement that must touch exactly one row.
func (s *DB) execOne(ctx context.Context, tx *sql.Tx, what, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, s.q(query), args...)
	if err != nil {
		if s.d.IsForeignKey != nil && s.d.IsForeignKey(err) {
			return fmt.Errorf("%s: %w: still referenced", what, store.ErrConflict)
		}
		return s.classify(err, what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.classify(err, what)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

const projectCols = `name, hub, region, tags, created_at, created_by, modified_at, modified_by`

func scanProject(r scanner) (store.Project, error) {
	var p store.Project
	var tags string
	var c, m int64
	if err := r.Scan(&p.Name, &p.Hub, &p.Region, &tags, &c, &p.CreatedBy, &m, &p.ModifiedBy); err != nil {
		return p, err
	}
	p.CreatedAt, p.ModifiedAt = fromNS(c), fromNS(m)
	var err error
	p.Tags, err = decodeTags(tags)
	return p, err
}

// PutProject implements store.Store.
func (s *DB) PutProject(ctx context.Context, p store.Project) (bool, error) {
	what := fmt.Sprintf("put project %q", p.Name)
	created := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM hubs WHERE name = ?`), p.Hub).Scan(&n); err != nil {
			return s.classify(err, what)
		}
		if n == 0 {
			return fmt.Errorf("%s: hub %q: %w", what, p.Hub, store.ErrNotFound)
		}
		var hub string
		err := tx.QueryRowContext(ctx, s.q(`SELECT hub FROM projects WHERE name = ?`), p.Name).Scan(&hub)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			created = true
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO projects (`+projectCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
				p.Name, p.Hub, p.Region, encodeTags(p.Tags), ns(p.CreatedAt), p.CreatedBy, ns(p.ModifiedAt), p.ModifiedBy)
			return s.classify(err, what)
		case err != nil:
			return s.classify(err, what)
		case hub != p.Hub:
			return fmt.Errorf("%s: %w: the name is taken in hub %q", what, store.ErrConflict, hub)
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE projects SET region = ?, tags = ?, modified_at = ?, modified_by = ? WHERE name = ?`),
			p.Region, encodeTags(p.Tags), ns(p.ModifiedAt), p.ModifiedBy, p.Name)
		return s.classify(err, what)
	})
	return created, err
}

// GetProject implements store.Store.
func (s *DB) GetProject(ctx context.Context, name string) (store.Project, error) {
	p, err := scanProject(s.db.QueryRowContext(ctx, s.q(`SELECT `+projectCols+` FROM projects WHERE name = ?`), name))
	return p, s.classify(err, fmt.Sprintf("get project %q", name))
}

// ListProjects implements store.Store; projects are ordered by name.
func (s *DB) ListProjects(ctx context.Context, hub string) ([]store.Project, error) {
	query, args := `SELECT `+projectCols+` FROM projects ORDER BY name`, []any(nil)
	if hub != "" {
		query, args = `SELECT `+projectCols+` FROM projects WHERE hub = ? ORDER BY name`, []any{hub}
	}
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, s.classify(err, "list projects")
	}
	defer rows.Close()
	var out []store.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, s.classify(err, "list projects")
		}
		out = append(out, p)
	}
	return out, s.classify(rows.Err(), "list projects")
}

// DeleteProject implements store.Store.
func (s *DB) DeleteProject(ctx context.Context, name string) error {
	what := fmt.Sprintf("delete project %q", name)
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM endpoints WHERE project = ?`), name).Scan(&n); err != nil {
			return s.classify(err, what)
		}
		if n > 0 {
			return fmt.Errorf("%s: %w: it has %d endpoint(s)", what, store.ErrConflict, n)
		}
		return s.execOne(ctx, tx, what, `DELETE FROM projects WHERE name = ?`, name)
	})
}
