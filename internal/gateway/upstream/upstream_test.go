package upstream_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"maas/api/inference"
	"maas/internal/gateway"
	"maas/internal/gateway/upstream"
	"maas/internal/snapshot"
)

// fakeOpenAI is an OpenAI-compatible server that streams a fixed reply one
// word per chunk and reports usage when asked.
type fakeOpenAI struct {
	mu     sync.Mutex
	bodies []map[string]any
	paths  []string
	status int
}

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.paths = append(f.paths, r.URL.Path)
	status := f.status
	f.mu.Unlock()
	if status != 0 {
		http.Error(w, `{"error":{"message":"busy"}}`, status)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	chat := strings.HasSuffix(r.URL.Path, "/chat/completions")
	words := []string{"Bonjour", " le", " monde"}
	max := int(body["max_tokens"].(float64))
	n := min(max, len(words))
	for i := 0; i < n; i++ {
		if chat {
			fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", words[i])
		} else {
			fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"text\":%q,\"finish_reason\":null}]}\n\n", words[i])
		}
	}
	finish := "stop"
	if n < len(words) {
		finish = "length"
	}
	fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"text\":\"\",\"finish_reason\":%q}]}\n\n", finish)
	fmt.Fprintf(w, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n", n, 11+n)
	fmt.Fprint(w, "data: [DONE]\n\n")
}

type sink struct {
	mu   sync.Mutex
	recs []snapshot.UsageRecord
}

func (s *sink) Record(r snapshot.UsageRecord) { s.mu.Lock(); s.recs = append(s.recs, r); s.mu.Unlock() }

func (s *sink) all() []snapshot.UsageRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]snapshot.UsageRecord(nil), s.recs...)
}

func setup(t *testing.T) (*fakeOpenAI, *httptest.Server, *sink) {
	t.Helper()
	up := &fakeOpenAI{}
	upSrv := httptest.NewServer(up)
	t.Cleanup(upSrv.Close)
	ep := &snapshot.Endpoint{ID: "e1", Name: "vllm", Region: "eastus2", Project: "p", Online: true,
		Model: snapshot.Model{Name: "Phi-3-mini-4k-instruct", Upstream: upSrv.URL, UpstreamModel: "microsoft/Phi-3-mini-4k-instruct", ContextLength: 4096},
		Keys:  [2]snapshot.KeyHash{snapshot.HashKey("key")}}
	h := &snapshot.Holder{}
	h.Store(snapshot.New(1, []*snapshot.Endpoint{ep}))
	u := &sink{}
	g, err := gateway.New(gateway.Options{Holder: h, Backend: upstream.New(nil, "upstream-secret"), Usage: u,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return up, srv, u
}

func post(t *testing.T, url, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("api-key", "key")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestChatThroughUpstream(t *testing.T) {
	up, srv, u := setup(t)
	resp, body := post(t, srv.URL+"/serverless/eastus2/vllm/chat/completions",
		`{"messages":[{"role":"system","content":"Be brief"},{"role":"user","content":"Say hello in French"}],"seed":3,"best_of":2}`,
		"extra-parameters", "pass-through")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var got inference.ChatCompletion
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Choices[0].Message.Content != "Bonjour le monde" || got.Choices[0].FinishReason != "stop" ||
		*got.Usage != (inference.Usage{PromptTokens: 11, CompletionTokens: 3, TotalTokens: 14}) || got.Model != "Phi-3-mini-4k-instruct" {
		t.Errorf("response %s", body)
	}
	sent := up.bodies[0]
	if up.paths[0] != "/v1/chat/completions" || sent["model"] != "microsoft/Phi-3-mini-4k-instruct" || sent["best_of"] != 2.0 ||
		sent["seed"] != 3.0 || sent["stream"] != true {
		t.Errorf("upstream got %s %v", up.paths[0], sent)
	}
	msgs := sent["messages"].([]any)
	if msgs[0].(map[string]any)["role"] != "user" {
		t.Errorf("system turn not folded for a model without a system role: %v", msgs)
	}
	if recs := u.all(); len(recs) != 1 || recs[0].PromptTokens != 11 || recs[0].CompletionTokens != 3 {
		t.Errorf("usage records %+v", u.all())
	}
}

func TestStreamingAndCompletionsThroughUpstream(t *testing.T) {
	up, srv, u := setup(t)
	resp, body := post(t, srv.URL+"/serverless/eastus2/vllm/v1/chat/completions",
		`{"messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":2}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"content":"Bonjour"`) || !strings.Contains(body, `"finish_reason":"length"`) ||
		!strings.Contains(body, `"usage":{"prompt_tokens":11,"completion_tokens":2,"total_tokens":13}`) || !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Errorf("stream: %d %s", resp.StatusCode, body)
	}
	resp, body = post(t, srv.URL+"/serverless/eastus2/vllm/completions", `{"prompt":"Say","max_tokens":5}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"text":"Bonjour le monde"`) || up.paths[1] != "/v1/completions" {
		t.Errorf("completion: %d %s", resp.StatusCode, body)
	}
	if n := len(u.all()); n != 2 {
		t.Errorf("%d usage records", n)
	}
}

func TestUpstreamBusyIs503(t *testing.T) {
	up, srv, u := setup(t)
	up.status = http.StatusTooManyRequests
	resp, body := post(t, srv.URL+"/serverless/eastus2/vllm/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	up.status = http.StatusInternalServerError
	resp, body = post(t, srv.URL+"/serverless/eastus2/vllm/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 500 {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	if recs := u.all(); len(recs) != 0 {
		t.Errorf("usage records for requests that never ran: %+v", recs)
	}
}

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://h:8000":     "http://h:8000/v1",
		"http://h:8000/":    "http://h:8000/v1",
		"http://h:8000/v1":  "http://h:8000/v1",
		"http://h:8000/v1/": "http://h:8000/v1",
	} {
		if got := upstream.BaseURL(in); got != want {
			t.Errorf("BaseURL(%q) = %q, want %q", in, got, want)
		}
	}
}
