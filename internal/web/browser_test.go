package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixtureAPI answers the management routes the app reads with fixed data in
// the api/v1 shapes, and 401 without the bearer token. It exists only to
// drive the app in a browser in TestBrowser.
func fixtureAPI(token string) http.Handler {
	const modelID = "azureml://registries/azureml/models/Phi-3-mini-4k-instruct"
	models := []map[string]any{
		{"name": "Phi-3-mini-4k-instruct", "catalogId": modelID, "parameters": "3.8B", "contextLength": 4096,
			"regions": []string{"eastus2", "swedencentral"}, "pricing": map[string]any{"inputPer1K": 0.00013, "outputPer1K": 0.00052},
			"lifecycleStage": "GenerallyAvailable", "capabilities": map[string]any{"systemRole": true}, "ready": true},
		{"name": "Phi-3.5-MoE-instruct", "catalogId": "azureml://registries/azureml/models/Phi-3.5-MoE-instruct", "parameters": "16x3.8B",
			"contextLength": 131072, "regions": []string{"eastus", "eastus2"}, "pricing": map[string]any{"inputPer1K": 0.00016, "outputPer1K": 0.00064},
			"lifecycleStage": "Deprecated", "capabilities": map[string]any{}, "ready": false},
	}
	endpoint := map[string]any{
		"id": "/hubs/h1/projects/p1/serverlessEndpoints/my-phi3", "name": "my-phi3", "location": "eastus2",
		"sku": map[string]any{"name": "Consumption"},
		"properties": map[string]any{
			"modelSettings": map[string]any{"modelId": modelID}, "authMode": "Key",
			"inferenceEndpoint": map[string]any{"uri": "http://127.0.0.1:1/serverless/eastus2/my-phi3"},
			"provisioningState": "Succeeded", "endpointState": "Online",
		},
		"systemData": map[string]any{"createdAt": "2026-11-27T08:00:00Z"},
	}
	reply := func(v any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+token {
				w.WriteHeader(http.StatusUnauthorized)
				json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "Unauthorized", "message": "missing or bad token"}})
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(v)
		}
	}
	list := func(v ...any) map[string]any { return map[string]any{"value": v} }
	mux := http.NewServeMux()
	mux.Handle("/", Handler())
	mux.Handle("GET /api/models", reply(map[string]any{"value": models}))
	mux.Handle("GET /api/hubs", reply(list(map[string]any{"name": "h1", "location": "eastus2"})))
	mux.Handle("GET /api/hubs/h1/projects", reply(list(map[string]any{"name": "p1", "hub": "h1", "location": "eastus2"})))
	mux.Handle("GET /api/projects/p1/serverlessEndpoints", reply(list(endpoint)))
	mux.Handle("POST /api/projects/p1/serverlessEndpoints/my-phi3/listKeys", reply(map[string]string{
		"primaryKey": strings.Repeat("a", 32), "secondaryKey": strings.Repeat("b", 32)}))
	mux.Handle("GET /api/projects/p1/usage", reply(map[string]any{"project": "p1", "groupBy": "endpoint", "value": []map[string]any{
		{"key": "my-phi3", "requests": 3, "promptTokens": 1900, "completionTokens": 7200, "totalTokens": 9100,
			"inputCost": 0.000247, "outputCost": 0.003744, "totalCost": 0.003991},
	}}))
	return mux
}

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
	srv := httptest.NewServer(fixtureAPI(token))
	defer srv.Close()
	shots := os.Getenv("MAAS_WEB_SCREENSHOTS")
	pages := []struct {
		path string
		want []string
	}{
		{"/catalog", []string{"Phi-3-mini-4k-instruct", "$0.00052 / 1K tokens", "4K tokens", "GenerallyAvailable", "Deprecated", "swedencentral"}},
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
				name := filepath.Join(shots, strings.Trim(strings.SplitN(p.path, "?", 2)[0], "/")+".png")
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
