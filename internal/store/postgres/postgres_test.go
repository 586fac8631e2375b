package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"maas/internal/store"
	"maas/internal/store/postgres"
	"maas/internal/store/storetest"
)

// baseDSN is the local test database; MAAS_TEST_POSTGRES overrides it.
func baseDSN() string {
	if v := os.Getenv("MAAS_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// admin connects to the test database, skipping the test when it is
// unreachable (failing under CI=true).
func admin(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", baseDSN())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL unreachable at %s (required under CI=true): %v", baseDSN(), err)
		}
		t.Skipf("PostgreSQL unreachable at %s: %v", baseDSN(), err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// freshSchema creates an empty schema and returns a DSN whose search_path
// points at it; the schema is dropped when the test ends.
func freshSchema(t *testing.T, db *sql.DB) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "maas_test_" + hex.EncodeToString(b)
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() { db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
	return baseDSN() + "&search_path=" + schema
}

func TestConformance(t *testing.T) {
	db := admin(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), freshSchema(t, db))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestReopenMigratesOnce(t *testing.T) {
	db := admin(t)
	dsn := freshSchema(t, db)
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutHub(ctx, store.Hub{Name: "h", Region: "eastus2"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if h, err := s.GetHub(ctx, "h"); err != nil || h.Region != "eastus2" {
		t.Fatalf("hub after reopen = %+v, %v", h, err)
	}
}
