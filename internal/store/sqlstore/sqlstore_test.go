package sqlstore

import (
	"reflect"
	"testing"
)

func TestPlaceholders(t *testing.T) {
	s := &DB{d: Dialect{DollarParams: true}}
	if got := s.q("SELECT a FROM t WHERE b = ? AND c = ?"); got != "SELECT a FROM t WHERE b = $1 AND c = $2" {
		t.Fatalf("dollar params: %q", got)
	}
	s = &DB{d: Dialect{}}
	if got := s.q("x = ?"); got != "x = ?" {
		t.Fatalf("question marks: %q", got)
	}
}

func TestSplitStatements(t *testing.T) {
	got := splitStatements("-- comment\nCREATE TABLE a (\n  x INT\n);\n\nCREATE INDEX i ON a(x);\nSELECT 1")
	want := []string{"CREATE TABLE a (\n  x INT\n)", "CREATE INDEX i ON a(x)", "SELECT 1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("statements %q, want %q", got, want)
	}
}
