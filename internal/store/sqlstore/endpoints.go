package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"maas/internal/store"
)

const endpointCols = `id, name, project, hub, region, model, model_id, content_safety, provisioning_state,
	endpoint_state, failure_reason, primary_key, secondary_key, tokens_per_minute, requests_per_minute, tags,
	created_at, created_by, modified_at, modified_by`

func scanEndpoint(r scanner) (store.Endpoint, error) {
	var e store.Endpoint
	var tags string
	var c, m int64
	err := r.Scan(&e.ID, &e.Name, &e.Project, &e.Hub, &e.Region, &e.Model, &e.ModelID, &e.ContentSafety,
		&e.ProvisioningState, &e.EndpointState, &e.FailureReason, &e.PrimaryKey, &e.SecondaryKey,
		&e.TokensPerMinute, &e.RequestsPerMinute, &tags, &c, &e.CreatedBy, &m, &e.ModifiedBy)
	if err != nil {
		return e, err
	}
	e.CreatedAt, e.ModifiedAt = fromNS(c), fromNS(m)
	e.Tags, err = decodeTags(tags)
	return e, err
}

// CreateEndpoint implements store.Store.
func (s *DB) CreateEndpoint(ctx context.Context, e store.Endpoint) error {
	what := fmt.Sprintf("create endpoint %q in project %q", e.Name, e.Project)
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM projects WHERE name = ?`), e.Project).Scan(&n); err != nil {
			return s.classify(err, what)
		}
		if n == 0 {
			return fmt.Errorf("%s: project: %w", what, store.ErrNotFound)
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO endpoints (`+endpointCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			e.ID, e.Name, e.Project, e.Hub, e.Region, e.Model, e.ModelID, e.ContentSafety, e.ProvisioningState,
			e.EndpointState, e.FailureReason, e.PrimaryKey, e.SecondaryKey, e.TokensPerMinute, e.RequestsPerMinute,
			encodeTags(e.Tags), ns(e.CreatedAt), e.CreatedBy, ns(e.ModifiedAt), e.ModifiedBy)
		return s.classify(err, what)
	})
}

// UpdateEndpoint implements store.Store. ID, Name, Project, Hub, Region and
// the creation fields are kept.
func (s *DB) UpdateEndpoint(ctx context.Context, e store.Endpoint) error {
	what := fmt.Sprintf("update endpoint %q in project %q", e.Name, e.Project)
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.execOne(ctx, tx, what, `UPDATE endpoints SET model = ?, model_id = ?, content_safety = ?,
			provisioning_state = ?, endpoint_state = ?, failure_reason = ?, primary_key = ?, secondary_key = ?,
			tokens_per_minute = ?, requests_per_minute = ?, tags = ?, modified_at = ?, modified_by = ?
			WHERE project = ? AND name = ?`,
			e.Model, e.ModelID, e.ContentSafety, e.ProvisioningState, e.EndpointState, e.FailureReason,
			e.PrimaryKey, e.SecondaryKey, e.TokensPerMinute, e.RequestsPerMinute, encodeTags(e.Tags),
			ns(e.ModifiedAt), e.ModifiedBy, e.Project, e.Name)
	})
}

// GetEndpoint implements store.Store.
func (s *DB) GetEndpoint(ctx context.Context, project, name string) (store.Endpoint, error) {
	e, err := scanEndpoint(s.db.QueryRowContext(ctx,
		s.q(`SELECT `+endpointCols+` FROM endpoints WHERE project = ? AND name = ?`), project, name))
	return e, s.classify(err, fmt.Sprintf("get endpoint %q in project %q", name, project))
}

// ListEndpoints implements store.Store; ordered by project, then name.
func (s *DB) ListEndpoints(ctx context.Context, project string) ([]store.Endpoint, error) {
	query, args := `SELECT `+endpointCols+` FROM endpoints ORDER BY project, name`, []any(nil)
	if project != "" {
		query, args = `SELECT `+endpointCols+` FROM endpoints WHERE project = ? ORDER BY project, name`, []any{project}
	}
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, s.classify(err, "list endpoints")
	}
	defer rows.Close()
	var out []store.Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, s.classify(err, "list endpoints")
		}
		out = append(out, e)
	}
	return out, s.classify(rows.Err(), "list endpoints")
}

// DeleteEndpoint implements store.Store.
func (s *DB) DeleteEndpoint(ctx context.Context, project, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.execOne(ctx, tx, fmt.Sprintf("delete endpoint %q in project %q", name, project),
			`DELETE FROM endpoints WHERE project = ? AND name = ?`, project, name)
	})
}
