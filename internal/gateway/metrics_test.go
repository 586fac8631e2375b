package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"maas/api/inference"
	"maas/internal/ledger"
	"maas/internal/snapshot"
)

func TestMetricsText(t *testing.T) {
	e := newEnv(t, func(o *Options, ep *snapshot.Endpoint, m *fakeModel) { ep.RequestsPerMinute = 2 })
	e.do("POST", testEndpoint+"/chat/completions", hello)
	e.do("POST", testEndpoint+"/chat/completions", `{"messages":[{"role":"user","content":"Hi"}],"stream":true}`)
	e.do("POST", testEndpoint+"/chat/completions", hello) // 429: two requests per minute
	e.do("POST", testEndpoint+"/chat/completions", hello, "api-key", "bad")
	resp, body := e.do("GET", "/metrics", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	text := string(body)
	for _, want := range []string{
		`maas_requests_total{endpoint="eastus2/phi",model="Phi-3-mini-4k-instruct",code="200"} 2`,
		`maas_requests_total{endpoint="eastus2/phi",model="Phi-3-mini-4k-instruct",code="429"} 1`,
		`maas_requests_total{endpoint="",model="",code="401"} 1`,
		`maas_prompt_tokens_total{endpoint="eastus2/phi",model="Phi-3-mini-4k-instruct"} 21`,
		`maas_completion_tokens_total{endpoint="eastus2/phi",model="Phi-3-mini-4k-instruct"} 14`,
		`maas_rate_limited_total{endpoint="eastus2/phi",limit="requests"} 1`,
		`maas_time_to_first_token_seconds_count{endpoint="eastus2/phi",model="Phi-3-mini-4k-instruct"} 2`,
		`maas_time_to_first_token_seconds_bucket{endpoint="eastus2/phi",model="Phi-3-mini-4k-instruct",le="+Inf"} 2`,
		`maas_time_per_output_token_seconds_count{endpoint="eastus2/phi",model="Phi-3-mini-4k-instruct"} 2`,
		`# TYPE maas_time_to_first_token_seconds histogram`,
		`maas_queue_length{model="Phi-3-mini-4k-instruct"} 0`,
		`maas_inflight_requests 0`, // /metrics itself is not an inference request
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q\n%s", want, text)
		}
	}
	if got := q("a\"b\\c\nd"); got != `"a\"b\\c\nd"` {
		t.Errorf("label quoting = %s", got)
	}
}

// TestLedgerMatchesClientUsage checks that the usage records match the usage
// returned to clients, request for request, streamed or not, after going
// through the batching ledger writer.
func TestLedgerMatchesClientUsage(t *testing.T) {
	store := &appendStore{}
	var w *ledger.Writer
	e := newEnv(t, func(o *Options, _ *snapshot.Endpoint, _ *fakeModel) {
		w = ledger.New(store, ledger.Options{BatchSize: 5, FlushInterval: time.Millisecond, Logger: discardLogger()})
		o.Usage = w
	})
	type seen struct {
		id    string
		usage inference.Usage
	}
	var mu sync.Mutex
	var clients []seen
	var wg sync.WaitGroup
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			stream := i%2 == 1
			words := strings.Repeat("word ", i)
			body := fmt.Sprintf(`{"messages":[{"role":"user","content":"%s"}],"max_tokens":%d,"stream":%v}`, words, 1+i%9, stream)
			resp, raw := e.do("POST", testEndpoint+"/chat/completions", body)
			if resp.StatusCode != 200 {
				t.Errorf("status %d: %s", resp.StatusCode, raw)
				return
			}
			var u inference.Usage
			if stream {
				evs := sseEvents(t, raw)
				var last inference.ChatCompletionChunk
				if err := json.Unmarshal([]byte(evs[len(evs)-2]), &last); err != nil || last.Usage == nil {
					t.Errorf("final chunk %q", evs[len(evs)-2])
					return
				}
				u = *last.Usage
			} else {
				u = *decodeJSON[inference.ChatCompletion](t, raw).Usage
			}
			mu.Lock()
			clients = append(clients, seen{resp.Header.Get("x-request-id"), u})
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := store.all()
	if len(recs) != len(clients) {
		t.Fatalf("%d records for %d requests", len(recs), len(clients))
	}
	byID := map[string]inference.Usage{}
	for _, r := range recs {
		if _, dup := byID[r.RequestID]; dup {
			t.Fatalf("two records for %s", r.RequestID)
		}
		byID[r.RequestID] = inference.Usage{PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens,
			TotalTokens: r.PromptTokens + r.CompletionTokens}
	}
	for _, c := range clients {
		if byID[c.id] != c.usage {
			t.Errorf("request %s: client saw %+v, ledger has %+v", c.id, c.usage, byID[c.id])
		}
	}
}

// appendStore is an in-memory ledger.Appender.
type appendStore struct {
	mu   sync.Mutex
	recs []snapshot.UsageRecord
}

func (a *appendStore) AppendUsage(_ context.Context, recs []snapshot.UsageRecord) error {
	a.mu.Lock()
	a.recs = append(a.recs, recs...)
	a.mu.Unlock()
	return nil
}

func (a *appendStore) all() []snapshot.UsageRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]snapshot.UsageRecord(nil), a.recs...)
}
