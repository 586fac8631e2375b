// Package postgres is the scale-out store backend: PostgreSQL through pgx
// (its database/sql driver), with embedded, versioned migrations.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"maas/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// dialect is PostgreSQL's sqlstore dialect.
func dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		Name:         "postgres",
		DollarParams: true,
		IsUnique:     func(err error) bool { return hasCode(err, "23505") },
		IsForeignKey: func(err error) bool { return hasCode(err, "23503") },
	}
}

func hasCode(err error, code string) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == code
}

// Open connects to dsn (a postgres:// URL or key=value string) and migrates
// the schema named by its search_path (default public).
func Open(ctx context.Context, dsn string) (*sqlstore.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	if err := sqlstore.Migrate(ctx, db, dialect(), migrations, "migrations"); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate postgres: %w", err)
	}
	return sqlstore.New(db, dialect()), nil
}
