package engine

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"maas/internal/testdata"
)

// badDeps may not appear among the dependencies of any engine package: the
// engine is a library with no knowledge of the service.
func badDeps() []string {
	return []string{"net/http", "database/sql", "maas/api",
		"maas/internal/gateway", "maas/internal/controlplane", "maas/internal/store",
		"maas/internal/app", "maas/internal/web", "maas/internal/snapshot"}
}

func TestEngineDeps(t *testing.T) {
	for _, tags := range []string{"", "purego"} {
		cmd := exec.Command("go", "list", "-e", "-deps=false", "-tags", tags, "-json=ImportPath,Deps", "./internal/engine/...")
		cmd.Dir = testdata.RepoRoot(t)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
		dec := json.NewDecoder(strings.NewReader(string(out)))
		n := 0
		for dec.More() {
			var p struct {
				ImportPath string
				Deps       []string
			}
			if err := dec.Decode(&p); err != nil {
				t.Fatalf("decode go list: %v", err)
			}
			n++
			for _, d := range p.Deps {
				for _, bad := range badDeps() {
					if d == bad || strings.HasPrefix(d, bad+"/") {
						t.Errorf("tags %q: %s depends on %s", tags, p.ImportPath, d)
					}
				}
			}
		}
		if n < 5 {
			t.Fatalf("tags %q: go list found only %d engine packages", tags, n)
		}
	}
}
