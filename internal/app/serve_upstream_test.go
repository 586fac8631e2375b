package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	apiv1 "maas/api/v1"
)

// TestServeUpstreamModel deploys a catalog entry served by an
// OpenAI-compatible upstream (as vLLM or llama.cpp's server would be) and
// checks that the request is proxied with the upstream's model name and
// key, and that its usage is metered.
func TestServeUpstreamModel(t *testing.T) {
	var gotAuth, gotModel string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		gotAuth = r.Header.Get("Authorization")
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		gotModel, _ = body["model"].(string)
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range []string{
			`{"id":"x","object":"chat.completion.chunk","created":1,"model":"phi3-vllm","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`,
			`{"id":"x","object":"chat.completion.chunk","created":1,"model":"phi3-vllm","choices":[{"index":0,"delta":{"content":"Paris."}}]}`,
			`{"id":"x","object":"chat.completion.chunk","created":1,"model":"phi3-vllm","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
			`{"id":"x","object":"chat.completion.chunk","created":1,"model":"phi3-vllm","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}`,
			`[DONE]`,
		} {
			io.WriteString(w, "data: "+ev+"\n\n")
		}
	}))
	defer up.Close()

	dir := t.TempDir()
	url, stderr, stop := startServe(t, dir, map[string]string{"MAAS_ADMIN_TOKEN": "tok", "MAAS_UPSTREAM_KEY": "upkey"})
	c := &upClient{base: url, token: "tok"}
	ctx := context.Background()
	model := map[string]any{"upstream": up.URL, "upstreamModel": "phi3-vllm", "regions": []string{"eastus2"},
		"contextLength": 4096, "pricing": map[string]float64{"inputPer1K": 0.001, "outputPer1K": 0.002}}
	for _, step := range []struct {
		method, path string
		body         any
	}{
		{"PUT", "/api/models/gpu-phi3", model},
		{"PUT", "/api/hubs/h", map[string]any{"location": "eastus2"}},
		{"PUT", "/api/hubs/h/projects/p", map[string]any{}},
		{"PUT", "/api/projects/p/serverlessEndpoints/gpu", map[string]any{"sku": map[string]string{"name": "Consumption"},
			"properties": map[string]any{"modelSettings": map[string]string{"modelId": "azureml://registries/azureml/models/gpu-phi3"}}}},
	} {
		if err := c.do(ctx, step.method, step.path, step.body, nil); err != nil {
			t.Fatalf("%s %s: %v\n%s", step.method, step.path, err, stderr.String())
		}
	}
	var keys apiv1.EndpointKeys
	if err := c.do(ctx, "POST", "/api/projects/p/serverlessEndpoints/gpu/listKeys", nil, &keys); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", url+"/serverless/eastus2/gpu/chat/completions?api-version=2024-05-01-preview",
		strings.NewReader(`{"messages":[{"role":"user","content":"Capital of France?"}],"max_tokens":16}`))
	req.Header.Set("api-key", keys.SecondaryKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "Paris.") {
		t.Fatalf("status %d body %s", resp.StatusCode, b)
	}
	if gotModel != "phi3-vllm" || gotAuth != "Bearer upkey" {
		t.Fatalf("upstream saw model %q auth %q", gotModel, gotAuth)
	}
	// The ledger flushes within a second; poll the usage API.
	var usage struct {
		Value []struct {
			Requests         int64   `json:"requests"`
			PromptTokens     int64   `json:"promptTokens"`
			CompletionTokens int64   `json:"completionTokens"`
			TotalCost        float64 `json:"totalCost"`
		} `json:"value"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := c.do(ctx, "GET", "/api/projects/p/usage", nil, &usage); err != nil {
			t.Fatal(err)
		}
		if len(usage.Value) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(usage.Value) != 1 || usage.Value[0].Requests != 1 || usage.Value[0].PromptTokens != 12 ||
		usage.Value[0].CompletionTokens != 3 {
		t.Fatalf("usage = %+v", usage.Value)
	}
	if want := 12*0.001/1000 + 3*0.002/1000; abs(usage.Value[0].TotalCost-want) > 1e-12 {
		t.Fatalf("cost %g, want %g", usage.Value[0].TotalCost, want)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
