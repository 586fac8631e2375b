package cli_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"maas/internal/cli"
)

// fileServer serves content with Range support and records Range headers.
type fileServer struct {
	content     []byte
	ignoreRange bool
	mu          sync.Mutex
	ranges      []string
}

func (f *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.ranges = append(f.ranges, r.Header.Get("Range"))
	f.mu.Unlock()
	if f.ignoreRange {
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, "model.gguf", time.Time{}, bytes.NewReader(f.content))
}

func content() ([]byte, string) {
	b := bytes.Repeat([]byte("GGUF-weights-"), 5000)
	h := sha256.Sum256(b)
	return b, hex.EncodeToString(h[:])
}

func TestDownloadResumes(t *testing.T) {
	body, sum := content()
	fs := &fileServer{content: body}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	dest := filepath.Join(t.TempDir(), "m.gguf")
	os.WriteFile(dest+".part", body[:1000], 0o644)
	var last int64
	err := cli.Download(context.Background(), nil, srv.URL, dest, int64(len(body)), sum, func(done, total int64) {
		if total != int64(len(body)) {
			t.Errorf("progress total %d, want %d", total, len(body))
		}
		last = done
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(dest)
	if !bytes.Equal(got, body) || last != int64(len(body)) {
		t.Fatalf("downloaded %d bytes (progress %d), want %d", len(got), last, len(body))
	}
	if len(fs.ranges) != 1 || fs.ranges[0] != "bytes=1000-" {
		t.Fatalf("range headers %q, want one bytes=1000-", fs.ranges)
	}
	if _, err := os.Stat(dest + ".part"); !os.IsNotExist(err) {
		t.Fatal(".part file left behind")
	}
}

func TestDownloadRestartsWhenRangeIgnored(t *testing.T) {
	body, sum := content()
	srv := httptest.NewServer(&fileServer{content: body, ignoreRange: true})
	defer srv.Close()
	dest := filepath.Join(t.TempDir(), "m.gguf")
	os.WriteFile(dest+".part", []byte("stale bytes"), 0o644)
	if err := cli.Download(context.Background(), nil, srv.URL, dest, 0, sum, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, body) {
		t.Fatal("restarted download differs from the content")
	}
}

func TestDownloadChecksDigestAndSize(t *testing.T) {
	body, _ := content()
	srv := httptest.NewServer(&fileServer{content: body})
	defer srv.Close()
	dir := t.TempDir()
	err := cli.Download(context.Background(), nil, srv.URL, filepath.Join(dir, "a.gguf"), 0, strings.Repeat("0", 64), nil)
	if err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("wrong digest: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.gguf.part")); !os.IsNotExist(err) {
		t.Fatal("corrupt download kept")
	}
	if _, err := os.Stat(filepath.Join(dir, "a.gguf")); !os.IsNotExist(err) {
		t.Fatal("corrupt download installed")
	}
	err = cli.Download(context.Background(), nil, srv.URL, filepath.Join(dir, "b.gguf"), int64(len(body))+1, "", nil)
	if err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Fatalf("wrong size: %v", err)
	}
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	if err := cli.Download(context.Background(), nil, notFound.URL, filepath.Join(dir, "c.gguf"), 0, "", nil); err == nil {
		t.Fatal("404 download succeeded")
	}
}

// TestPullCommand pulls an operator entry's weights from a local server
// into the data dir and registers them with the control plane.
func TestPullCommand(t *testing.T) {
	body, sum := content()
	body = append([]byte("GGUF"), body...)
	h := sha256.Sum256(body)
	sum = hex.EncodeToString(h[:])
	files := httptest.NewServer(&fileServer{content: body})
	defer files.Close()
	srv, _, dir := server(t)
	dataDir := filepath.Join(dir, "data")
	mustRun(t, srv, nil, "models", "add", "remote", "--upstream", "http://127.0.0.1:1/v1", "--regions", "eastus2")
	// Give the entry downloadable weights through the API.
	c := &cli.Client{Base: srv.URL, Token: admin}
	spec := map[string]any{"regions": []string{"eastus2"}, "pricing": map[string]float64{"inputPer1K": 0, "outputPer1K": 0},
		"weights": []map[string]any{{"file": "remote.gguf", "url": files.URL + "/remote.gguf", "sizeBytes": len(body), "sha256": sum}}}
	if err := c.Do(context.Background(), "PUT", "/api/models/remote", spec, nil); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := run(t, srv, map[string]string{"MAAS_DATA_DIR": dataDir}, "models", "pull", "remote")
	if err != nil {
		t.Fatalf("pull: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "100.0%") || !strings.Contains(out, "true") {
		t.Fatalf("pull output:\n%s\nstderr:\n%s", out, stderr)
	}
	got, err := os.ReadFile(filepath.Join(dataDir, "models", "remote.gguf"))
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("pulled file: %v", err)
	}
}
