package app

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPsCommand(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/ps" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"models":[{"name":"phi3-mini","path":"/m/phi3.gguf","memory_bytes":2362232012,"active":3,"queued":1}]}`))
	}))
	defer srv.Close()
	code, out, errOut := runCmd("ps", "--server", srv.URL)
	if code != 0 || !strings.Contains(out, "phi3-mini") || !strings.Contains(out, "2.2 GiB") || !strings.Contains(out, "ACTIVE") {
		t.Fatalf("exit %d out %q err %q", code, out, errOut)
	}
	srv.Close()
	code, _, errOut = runCmd("ps", "--server", srv.URL)
	if code != 1 || !strings.Contains(errOut, "no maas server reachable") {
		t.Fatalf("no server: exit %d err %q", code, errOut)
	}
}
