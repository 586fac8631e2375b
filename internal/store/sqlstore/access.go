package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"maas/internal/store"
)

// PutModel implements store.Store.
func (s *DB) PutModel(ctx context.Context, m store.Model) (bool, error) {
	what := fmt.Sprintf("put model %q", m.Name)
	created := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM models WHERE name = ?`), m.Name).Scan(&n); err != nil {
			return s.classify(err, what)
		}
		var err error
		if n == 0 {
			created = true
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO models (name, spec, created_at, created_by, modified_at, modified_by)
				VALUES (?, ?, ?, ?, ?, ?)`), m.Name, string(m.Spec), ns(m.CreatedAt), m.CreatedBy, ns(m.ModifiedAt), m.ModifiedBy)
		} else {
			_, err = tx.ExecContext(ctx, s.q(`UPDATE models SET spec = ?, modified_at = ?, modified_by = ? WHERE name = ?`),
				string(m.Spec), ns(m.ModifiedAt), m.ModifiedBy, m.Name)
		}
		return s.classify(err, what)
	})
	return created, err
}

func scanModel(r scanner) (store.Model, error) {
	var m store.Model
	var spec string
	var c, mod int64
	if err := r.Scan(&m.Name, &spec, &c, &m.CreatedBy, &mod, &m.ModifiedBy); err != nil {
		return m, err
	}
	m.Spec = []byte(spec)
	m.CreatedAt, m.ModifiedAt = fromNS(c), fromNS(mod)
	return m, nil
}

const modelCols = `name, spec, created_at, created_by, modified_at, modified_by`

// GetModel implements store.Store.
func (s *DB) GetModel(ctx context.Context, name string) (store.Model, error) {
	m, err := scanModel(s.db.QueryRowContext(ctx, s.q(`SELECT `+modelCols+` FROM models WHERE name = ?`), name))
	return m, s.classify(err, fmt.Sprintf("get model %q", name))
}

// ListModels implements store.Store; ordered by name.
func (s *DB) ListModels(ctx context.Context) ([]store.Model, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+modelCols+` FROM models ORDER BY name`)
	if err != nil {
		return nil, s.classify(err, "list models")
	}
	defer rows.Close()
	var out []store.Model
	for rows.Next() {
		m, err := scanModel(rows)
		if err != nil {
			return nil, s.classify(err, "list models")
		}
		out = append(out, m)
	}
	return out, s.classify(rows.Err(), "list models")
}

// DeleteModel implements store.Store.
func (s *DB) DeleteModel(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.execOne(ctx, tx, fmt.Sprintf("delete model %q", name), `DELETE FROM models WHERE name = ?`, name)
	})
}

const principalCols = `id, name, token_hash, created_at`

func scanPrincipal(r scanner) (store.Principal, error) {
	var p store.Principal
	var c int64
	if err := r.Scan(&p.ID, &p.Name, &p.TokenHash, &c); err != nil {
		return p, err
	}
	p.CreatedAt = fromNS(c)
	return p, nil
}

// CreatePrincipal implements store.Store.
func (s *DB) CreatePrincipal(ctx context.Context, p store.Principal) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO principals (`+principalCols+`) VALUES (?, ?, ?, ?)`),
		p.ID, p.Name, p.TokenHash, ns(p.CreatedAt))
	return s.classify(err, fmt.Sprintf("create principal %q", p.Name))
}

// GetPrincipal implements store.Store.
func (s *DB) GetPrincipal(ctx context.Context, id string) (store.Principal, error) {
	p, err := scanPrincipal(s.db.QueryRowContext(ctx, s.q(`SELECT `+principalCols+` FROM principals WHERE id = ?`), id))
	return p, s.classify(err, fmt.Sprintf("get principal %q", id))
}

// PrincipalByTokenHash implements store.Store.
func (s *DB) PrincipalByTokenHash(ctx context.Context, tokenHash string) (store.Principal, error) {
	p, err := scanPrincipal(s.db.QueryRowContext(ctx,
		s.q(`SELECT `+principalCols+` FROM principals WHERE token_hash = ?`), tokenHash))
	return p, s.classify(err, "find principal by token")
}

// ListPrincipals implements store.Store; ordered by creation, then id.
func (s *DB) ListPrincipals(ctx context.Context) ([]store.Principal, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+principalCols+` FROM principals ORDER BY created_at, id`)
	if err != nil {
		return nil, s.classify(err, "list principals")
	}
	defer rows.Close()
	var out []store.Principal
	for rows.Next() {
		p, err := scanPrincipal(rows)
		if err != nil {
			return nil, s.classify(err, "list principals")
		}
		out = append(out, p)
	}
	return out, s.classify(rows.Err(), "list principals")
}

// DeletePrincipal implements store.Store.
func (s *DB) DeletePrincipal(ctx context.Context, id string) error {
	what := fmt.Sprintf("delete principal %q", id)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM role_assignments WHERE principal_id = ?`), id); err != nil {
			return s.classify(err, what)
		}
		return s.execOne(ctx, tx, what, `DELETE FROM principals WHERE id = ?`, id)
	})
}

const assignmentCols = `id, principal_id, role, scope, created_at`

func scanAssignment(r scanner) (store.RoleAssignment, error) {
	var a store.RoleAssignment
	var c int64
	if err := r.Scan(&a.ID, &a.PrincipalID, &a.Role, &a.Scope, &c); err != nil {
		return a, err
	}
	a.CreatedAt = fromNS(c)
	return a, nil
}

// PutRoleAssignment implements store.Store. An update keeps CreatedAt.
func (s *DB) PutRoleAssignment(ctx context.Context, a store.RoleAssignment) (bool, error) {
	what := fmt.Sprintf("put role assignment %q", a.ID)
	created := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM principals WHERE id = ?`), a.PrincipalID).Scan(&n); err != nil {
			return s.classify(err, what)
		}
		if n == 0 {
			return fmt.Errorf("%s: principal %q: %w", what, a.PrincipalID, store.ErrNotFound)
		}
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM role_assignments WHERE id = ?`), a.ID).Scan(&n); err != nil {
			return s.classify(err, what)
		}
		var err error
		if n == 0 {
			created = true
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO role_assignments (`+assignmentCols+`) VALUES (?, ?, ?, ?, ?)`),
				a.ID, a.PrincipalID, a.Role, a.Scope, ns(a.CreatedAt))
		} else {
			_, err = tx.ExecContext(ctx, s.q(`UPDATE role_assignments SET principal_id = ?, role = ?, scope = ? WHERE id = ?`),
				a.PrincipalID, a.Role, a.Scope, a.ID)
		}
		return s.classify(err, what)
	})
	return created, err
}

// GetRoleAssignment implements store.Store.
func (s *DB) GetRoleAssignment(ctx context.Context, id string) (store.RoleAssignment, error) {
	a, err := scanAssignment(s.db.QueryRowContext(ctx,
		s.q(`SELECT `+assignmentCols+` FROM role_assignments WHERE id = ?`), id))
	return a, s.classify(err, fmt.Sprintf("get role assignment %q", id))
}

// ListRoleAssignments implements store.Store; ordered by id.
func (s *DB) ListRoleAssignments(ctx context.Context, principalID string) ([]store.RoleAssignment, error) {
	query, args := `SELECT `+assignmentCols+` FROM role_assignments ORDER BY id`, []any(nil)
	if principalID != "" {
		query, args = `SELECT `+assignmentCols+` FROM role_assignments WHERE principal_id = ? ORDER BY id`, []any{principalID}
	}
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, s.classify(err, "list role assignments")
	}
	defer rows.Close()
	var out []store.RoleAssignment
	for rows.Next() {
		a, err := scanAssignment(rows)
		if err != nil {
			return nil, s.classify(err, "list role assignments")
		}
		out = append(out, a)
	}
	return out, s.classify(rows.Err(), "list role assignments")
}

// DeleteRoleAssignment implements store.Store.
func (s *DB) DeleteRoleAssignment(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.execOne(ctx, tx, fmt.Sprintf("delete role assignment %q", id), `DELETE FROM role_assignments WHERE id = ?`, id)
	})
}
