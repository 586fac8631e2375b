package app

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// TestServeOnPostgres runs serve with --database against the local test
// database (skipped when unreachable, failing under CI=true).
func TestServeOnPostgres(t *testing.T) {
	dsn := testPostgresSchema(t, "maas_serve_")
	env := map[string]string{"MAAS_ADMIN_TOKEN": "pg-admin-token", "MAAS_DATABASE_URL": dsn}

	dir := t.TempDir()
	url, _, stop := startServe(t, dir, env)
	manage(t, url, "pg-admin-token", "hub", "create", "pghub", "--location", "westus3")
	if code := stop(); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	url, _, stop = startServe(t, t.TempDir(), env)
	defer stop()
	if out := manage(t, url, "pg-admin-token", "hub", "list"); !strings.Contains(out, "pghub") || !strings.Contains(out, "westus3") {
		t.Fatalf("hubs after restart on PostgreSQL:\n%s", out)
	}
}

// testPostgresSchema returns a DSN of the local test database with a fresh
// schema on its search path, dropped when the test ends (skipped when
// PostgreSQL is unreachable, failing under CI=true).
func testPostgresSchema(t *testing.T, prefix string) string {
	t.Helper()
	base := os.Getenv("MAAS_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	db, err := sql.Open("pgx", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL unreachable (required under CI=true): %v", err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := prefix + hex.EncodeToString(b)
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		db.Close()
	})
	return base + "&search_path=" + schema
}
