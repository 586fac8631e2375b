package web

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromium returns the path of a Chromium binary, or "".
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowser loads each page in headless Chromium against fixtureAPI and
// checks the rendered DOM. With MAAS_WEB_SCREENSHOTS=dir it also writes a PNG
// of each page there. Skipped with -short or without Chromium.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	bin := chromium()
	if bin == "" {
		t.Skip("chromium not installed (Debian package chromium)")
	}
	const token = "t0k-fixture"
	srv := httptest.NewServer(newFixture(token).handler())
	defer srv.Close()
	shots := os.Getenv("MAAS_WEB_SCREENSHOTS")
	pages := []struct {
		path string
		want []string
	}{
		{"/catalog", []string{"Phi-3-mini-4k-instruct", "$0.00052 / 1K tokens", "4K tokens", "Generally available", "Deprecated", "swedencentral",
			"Choose a project in the top bar to deploy."}},
		{"/catalog?project=p1", []string{"Deploying to project p1 (eastus2).", `title="Not offered in eastus2"`,
			`title="A deprecated model cannot be deployed"`, `title="Create a serverless endpoint"`}},
		{"/endpoints?project=p1", []string{"my-phi3", "Succeeded", "Online", "created ", "/serverless/eastus2/my-phi3", "p1 (h1, eastus2)"}},
		{"/playground?project=p1", []string{"my-phi3", "Model: Phi-3-mini-4k-instruct", "$0.00013 in / $0.00052 out per 1K"}},
		{"/usage?project=p1", []string{"my-phi3", "9,100", "$0.003991", "Total"}},
	}
	for _, p := range pages {
		t.Run(strings.Trim(strings.SplitN(p.path, "?", 2)[0], "/"), func(t *testing.T) {
			url := srv.URL + p.path + "#token=" + token
			dom := runChromium(t, bin, "--dump-dom", url)
			for _, w := range p.want {
				if !strings.Contains(dom, w) {
					t.Errorf("%s: rendered page lacks %q", p.path, w)
				}
			}
			if strings.Contains(dom, token) {
				t.Errorf("%s: the token is visible in the page", p.path)
			}
			if t.Failed() {
				t.Logf("DOM:\n%s", dom)
			}
			if shots != "" {
				name := filepath.Join(shots, strings.ReplaceAll(filepath.Base(t.Name()), "#", "-")+".png")
				runChromium(t, bin, "--screenshot="+name, "--window-size=1280,860", url)
			}
		})
	}
}

func runChromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=5000"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return stdout.String()
}

// TestBrowserPlayground runs e2e/web/playground.mjs (playwright-core in Debian
// Chromium) against the fixture: sign-in dialog, project picker, deploy dialog,
// keys, a streamed chat with its usage line, and the usage page. Skipped
// unless Chromium, node and e2e/web/node_modules (npm ci in e2e/web) are there.
func TestBrowserPlayground(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	bin := chromium()
	node, err := exec.LookPath("node")
	dir := filepath.Join("..", "..", "e2e", "web")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); bin == "" || err != nil || statErr != nil {
		t.Skip("needs chromium, node and e2e/web/node_modules (run npm ci in e2e/web)")
	}
	const token = "t0k-fixture"
	srv := httptest.NewServer(newFixture(token).handler())
	defer srv.Close()
	shots := os.Getenv("MAAS_WEB_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "playground.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MAAS_URL="+srv.URL, "MAAS_TOKEN="+token, "MAAS_PROJECT=p1",
		"MAAS_CREATE_MODEL=Phi-3-mini-128k-instruct", "MAAS_NEW_PROJECT=p2-from-dialog", "SHOTS_DIR="+shots, "CHROMIUM="+bin, "CHAT_TIMEOUT_MS=20000")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node playground.mjs: %v\n%s", err, out)
	}
	for _, want := range []string{"answer: \"" + fixtureReply + "\"", "csv: usage-p1-endpoint.csv with 2 rows", "ok: web playground end to end"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
