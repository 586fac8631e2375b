package app

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	apiv1 "maas/api/v1"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var servingRE = regexp.MustCompile(`maas serving on (http://\S+)`)

// startServe runs 'maas serve' on a free port and returns its URL, its
// stderr and a function that stops it and returns the exit code.
func startServe(t *testing.T, dataDir string, env map[string]string, extra ...string) (string, *syncBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir}, extra...),
			Env{Stdin: strings.NewReader(""), Stdout: stderr, Stderr: stderr, Getenv: func(k string) string { return env[k] }})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := servingRE.FindStringSubmatch(stderr.String()); m != nil {
			stop := func() int {
				cancel()
				select {
				case code := <-done:
					return code
				case <-time.After(20 * time.Second):
					t.Fatal("serve did not stop")
					return -1
				}
			}
			t.Cleanup(func() { cancel() })
			return m[1], stderr, stop
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d:\n%s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", stderr.String())
		}
	}
}

// manage runs a management command against url with token.
func manage(t *testing.T, url, token string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		switch k {
		case "MAAS_SERVER":
			return url
		case "MAAS_TOKEN":
			return token
		}
		return ""
	}}
	if code := Main(context.Background(), args, env); code != 0 {
		t.Fatalf("maas %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

func TestServeBootstrapAndRestart(t *testing.T) {
	dir := t.TempDir()
	url, stderr, stop := startServe(t, dir, nil)
	m := regexp.MustCompile(`\n    (maas_\S+)\n`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no bootstrap token on stderr:\n%s", stderr.String())
	}
	token := m[1]
	if _, err := os.Stat(filepath.Join(dir, "secret.key")); err != nil {
		t.Fatalf("secret not created: %v", err)
	}

	model := filepath.Join(dir, "bad.gguf")
	os.WriteFile(model, append([]byte("GGUF"), make([]byte, 64)...), 0o644)
	manage(t, url, token, "hub", "create", "h", "--location", "swedencentral")
	manage(t, url, token, "project", "create", "p", "--hub", "h")
	// The serve command checks GGUF headers, so a file with only the magic fails provisioning.
	manage(t, url, token, "models", "add", "junk", "--file", model, "--regions", "swedencentral")
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"endpoint", "create", "--name", "e1", "--model", "junk", "--project", "p"},
		Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
			return map[string]string{"MAAS_SERVER": url, "MAAS_TOKEN": token}[k]
		}})
	if code != 1 || !strings.Contains(errb.String(), "provisioning failed") || !strings.Contains(out.String(), "Failed") {
		t.Fatalf("endpoint with junk weights: exit %d\n%s%s", code, out.String(), errb.String())
	}
	keysJSON := manage(t, url, token, "endpoint", "get-credentials", "e1", "--project", "p", "--output", "json")
	if c := stop(); c != 0 {
		t.Fatalf("serve exit code %d:\n%s", c, stderr.String())
	}

	url, stderr, stop = startServe(t, dir, nil)
	defer stop()
	if strings.Contains(stderr.String(), "maas_") {
		t.Fatalf("restart showed a new token:\n%s", stderr.String())
	}
	if got := manage(t, url, token, "endpoint", "get-credentials", "e1", "--project", "p", "--output", "json"); got != keysJSON {
		t.Fatalf("keys after restart %s, before %s", got, keysJSON)
	}
	var ep apiv1.ServerlessEndpoint
	if err := json.Unmarshal([]byte(manage(t, url, token, "endpoint", "show", "e1", "--project", "p", "--output", "json")), &ep); err != nil {
		t.Fatal(err)
	}
	if ep.Properties.ProvisioningState != "Failed" || !strings.Contains(ep.Properties.FailureReason, "GGUF") ||
		ep.Properties.InferenceEndpoint.URI != url+"/serverless/swedencentral/e1" {
		t.Fatalf("endpoint after restart = %+v", ep.Properties)
	}
}

func TestServeAdminTokenFromEnv(t *testing.T) {
	dir := t.TempDir()
	url, stderr, stop := startServe(t, dir, map[string]string{"MAAS_ADMIN_TOKEN": "env-admin-token-123"})
	defer stop()
	if strings.Contains(stderr.String(), "shown only this once") {
		t.Fatalf("token printed although MAAS_ADMIN_TOKEN was set:\n%s", stderr.String())
	}
	out := manage(t, url, "env-admin-token-123", "models", "list")
	if !strings.Contains(out, "Phi-3.5-MoE-instruct") {
		t.Fatalf("models list:\n%s", out)
	}
}
