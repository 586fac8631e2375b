package controlplane_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules keeps the control plane apart from the data plane: it may
// not import the gateway or the engine (except engine/gguf, for metadata).
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "maas/internal/controlplane").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "maas/internal/gateway" || strings.HasPrefix(dep, "maas/internal/gateway/"):
			t.Errorf("controlplane imports %s", dep)
		case strings.HasPrefix(dep, "maas/internal/engine") && dep != "maas/internal/engine/gguf":
			t.Errorf("controlplane imports %s; only maas/internal/engine/gguf is allowed", dep)
		case dep == "maas/internal/app" || strings.HasPrefix(dep, "maas/internal/cli"):
			t.Errorf("controlplane imports %s", dep)
		}
	}
}
