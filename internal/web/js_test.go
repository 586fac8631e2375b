package web

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestJavaScript runs testdata/js_test.mjs under Node against the embedded
// modules (SSE parsing, streaming chat, formatting, name rules). Node is on
// the project's machines; elsewhere the test is skipped.
func TestJavaScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found; skipping the JavaScript unit tests")
	}
	h := testHandler(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "js"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, a := range h.assets {
		if strings.HasPrefix(name, "js/") {
			if err := os.WriteFile(filepath.Join(dir, name), a.body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The modules are ES modules with a .js extension: say so to Node.
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"type":"module"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("testdata", "js_test.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "js_test.mjs"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "js_test.mjs")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node js_test.mjs: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "passed") {
		t.Fatalf("node js_test.mjs printed no result:\n%s", out)
	}
	t.Logf("%s", out)
}
