// Package testdata locates the shared Phi-3 fixtures for tests. The fixtures
// live in ../shared/testdata/phi3 relative to the repository root (CI has the
// same layout). Outside CI a missing folder skips the test; under CI=true it
// fails it.
package testdata

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the directory holding go.mod, searching upwards from the
// working directory of the test.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("find repository root: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("find repository root: no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Phi3Dir returns the path of ../shared/testdata/phi3, skipping the test when
// it is absent (failing under CI=true).
func Phi3Dir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(RepoRoot(tb), "..", "shared", "testdata", "phi3")
	if _, err := os.Stat(filepath.Join(dir, "vocab-phi3.gguf")); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("Phi-3 fixtures missing at %s (required under CI=true): %v", dir, err)
		}
		tb.Skipf("Phi-3 fixtures not found at %s; skipping", dir)
	}
	return dir
}

// Phi3File returns the path of one fixture file in Phi3Dir.
func Phi3File(tb testing.TB, name string) string {
	tb.Helper()
	return filepath.Join(Phi3Dir(tb), name)
}
