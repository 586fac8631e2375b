package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"maas/internal/snapshot"
	"maas/internal/store"
)

const nsPerDay = int64(24 * time.Hour)

// AppendUsage implements store.Store: one transaction per call, existing
// request ids are skipped.
func (s *DB) AppendUsage(ctx context.Context, recs []snapshot.UsageRecord) error {
	if len(recs) == 0 {
		return nil
	}
	for i, r := range recs {
		if r.RequestID == "" {
			return fmt.Errorf("append usage: record %d has no request id", i)
		}
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO usage_records (request_id, time_ns, hub, project,
			endpoint_id, endpoint, region, model, prompt_tokens, completion_tokens, status, finish_reason, stream,
			ttft_ns, duration_ns, input_cost, output_cost)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range recs {
			stream := 0
			if r.Stream {
				stream = 1
			}
			if _, err := stmt.ExecContext(ctx, r.RequestID, r.Time.UnixNano(), r.Hub, r.Project, r.EndpointID,
				r.Endpoint, r.Region, r.Model, r.PromptTokens, r.CompletionTokens, r.Status, r.FinishReason, stream,
				int64(r.TimeToFirstToken), int64(r.Duration), r.InputCost, r.OutputCost); err != nil {
				return fmt.Errorf("request %q: %w", r.RequestID, err)
			}
		}
		return nil
	})
	return s.classify(err, fmt.Sprintf("append %d usage records", len(recs)))
}

// QueryUsage implements store.Store.
func (s *DB) QueryUsage(ctx context.Context, q store.UsageQuery) ([]store.UsageRow, error) {
	if q.Project == "" {
		return nil, errors.New("query usage: project is required")
	}
	var key string
	switch q.GroupBy {
	case store.GroupByEndpoint, "":
		key = "endpoint"
	case store.GroupByModel:
		key = "model"
	case store.GroupByDay:
		key = "time_ns / " + strconv.FormatInt(nsPerDay, 10)
	default:
		return nil, fmt.Errorf("query usage: unknown groupBy %q", q.GroupBy)
	}
	where := []string{"project = ?"}
	args := []any{q.Project}
	if q.Endpoint != "" {
		where, args = append(where, "endpoint = ?"), append(args, q.Endpoint)
	}
	if !q.From.IsZero() {
		where, args = append(where, "time_ns >= ?"), append(args, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		where, args = append(where, "time_ns < ?"), append(args, q.To.UnixNano())
	}
	query := `SELECT ` + key + ` AS k, COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),
		COALESCE(SUM(input_cost), 0), COALESCE(SUM(output_cost), 0)
		FROM usage_records WHERE ` + strings.Join(where, " AND ") + ` GROUP BY k ORDER BY k`
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, s.classify(err, "query usage")
	}
	defer rows.Close()
	var out []store.UsageRow
	for rows.Next() {
		var r store.UsageRow
		var k any
		if err := rows.Scan(&k, &r.Requests, &r.PromptTokens, &r.CompletionTokens, &r.InputCost, &r.OutputCost); err != nil {
			return nil, s.classify(err, "query usage")
		}
		switch v := k.(type) {
		case int64:
			r.Key = time.Unix(0, v*nsPerDay).UTC().Format("2006-01-02")
		case string:
			r.Key = v
		case []byte:
			r.Key = string(v)
		default:
			return nil, fmt.Errorf("query usage: unexpected group key type %T", k)
		}
		out = append(out, r)
	}
	return out, s.classify(rows.Err(), "query usage")
}
