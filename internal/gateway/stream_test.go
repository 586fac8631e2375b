package gateway

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"maas/api/inference"
	"maas/internal/snapshot"
)

func TestClientDisconnectStopsGeneration(t *testing.T) {
	for _, stream := range []bool{true, false} {
		t.Run(fmt.Sprint("stream=", stream), func(t *testing.T) {
			e := newEnv(t)
			e.model.hold = make(chan struct{})
			e.model.cancelled = make(chan struct{})
			body := fmt.Sprintf(`{"messages":[{"role":"user","content":"Hi"}],"stream":%v}`, stream)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+testEndpoint+"/chat/completions", strings.NewReader(body))
			req.Header.Set("api-key", testKey)
			got := make(chan string, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					got <- ""
					return
				}
				defer resp.Body.Close()
				// Read the role chunk and the first token's chunk.
				br := bufio.NewReader(resp.Body)
				var b strings.Builder
				for i := 0; i < 4; i++ {
					line, err := br.ReadString('\n')
					b.WriteString(line)
					if err != nil {
						break
					}
				}
				got <- b.String()
			}()
			e.model.hold <- struct{}{} // exactly one token goes through
			if stream {
				if s := <-got; !strings.Contains(s, `"content":"Paris"`) {
					t.Fatalf("streamed before hanging up: %q", s)
				}
			} else {
				waitFor(t, "first token", func() bool {
					e.model.mu.Lock()
					defer e.model.mu.Unlock()
					return e.model.started == 1
				})
			}
			cancel() // the client hangs up
			<-e.model.cancelled
			waitFor(t, "usage record", func() bool { return len(e.usage.all()) == 1 })
			r := e.usage.all()[0]
			if r.Status != 499 || r.FinishReason != "cancelled" || r.CompletionTokens != 1 || r.Stream != stream || r.PromptTokens != 5 {
				t.Errorf("record = %+v", r)
			}
		})
	}
}

func TestHostRouting(t *testing.T) {
	e := newEnv(t, func(o *Options, _ *snapshot.Endpoint, _ *fakeModel) { o.Domain = "models.example.test" })
	do := func(host, path string) int {
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(hello))
		req.Host = host
		req.Header.Set("api-key", testKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := do("phi.eastus2.models.example.test", "/chat/completions?api-version=2024-05-01-preview"); c != 200 {
		t.Errorf("host route: %d", c)
	}
	if c := do("PHI.eastus2.models.example.test:443", "/v1/chat/completions"); c != 200 {
		t.Errorf("host route with port and case: %d", c)
	}
	if c := do("nope.eastus2.models.example.test", "/chat/completions"); c != 404 {
		t.Errorf("unknown host endpoint: %d", c)
	}
	if c := do("other.eastus2.models.example.test", "/chat/completions"); c != 401 {
		t.Errorf("another endpoint's host with this key: %d", c)
	}
	if c := do("localhost", testEndpoint+"/chat/completions"); c != 200 {
		t.Errorf("path route still works: %d", c)
	}
	r, _ := http.NewRequest("GET", "http://phi.eastus2.models.example.test/", nil)
	if !e.gw.Owns(r) {
		t.Errorf("Owns(host route) = false")
	}
	r, _ = http.NewRequest("GET", "http://localhost/api/hubs", nil)
	if e.gw.Owns(r) {
		t.Errorf("Owns(/api/hubs) = true")
	}
}

func TestStreamingSeveralChoices(t *testing.T) {
	e := newEnv(t)
	resp, raw := e.do("POST", testEndpoint+"/v1/chat/completions",
		`{"messages":[{"role":"user","content":"Hi"}],"stream":true,"n":2,"max_tokens":3,"logprobs":true,"top_logprobs":1,"seed":40}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, raw)
	}
	evs := sseEvents(t, raw)
	text := map[int]string{}
	roles, finishes, usages := map[int]int{}, map[int]string{}, 0
	for _, d := range evs[:len(evs)-1] {
		c := decodeJSON[inference.ChatCompletionChunk](t, []byte(d))
		if c.Usage != nil {
			usages++
			if *c.Usage != (inference.Usage{PromptTokens: 5, CompletionTokens: 6, TotalTokens: 11}) {
				t.Errorf("usage %+v", c.Usage)
			}
		}
		for _, ch := range c.Choices {
			if ch.Delta.Role != "" {
				roles[ch.Index]++
			}
			if ch.Delta.Content != nil {
				text[ch.Index] += *ch.Delta.Content
			}
			if ch.FinishReason != nil {
				finishes[ch.Index] = *ch.FinishReason
			}
			if ch.Delta.Content != nil && *ch.Delta.Content != "" && (ch.Logprobs == nil || len(ch.Logprobs.Content) != 1) {
				t.Errorf("delta without its logprob: %s", d)
			}
		}
	}
	for i := 0; i < 2; i++ {
		if roles[i] != 1 || text[i] != "Paris is the" || finishes[i] != "length" {
			t.Errorf("choice %d: roles %d text %q finish %q", i, roles[i], text[i], finishes[i])
		}
	}
	if fmt.Sprint(e.model.seeds) != "[40 41]" {
		t.Errorf("seeds of the choices = %v, want [40 41]", e.model.seeds)
	}
	if usages != 1 || evs[len(evs)-1] != "[DONE]" {
		t.Errorf("usage chunks %d, last event %q", usages, evs[len(evs)-1])
	}
}

func TestFailures(t *testing.T) {
	t.Run("second choice cannot start", func(t *testing.T) {
		e := newEnv(t, func(_ *Options, _ *snapshot.Endpoint, m *fakeModel) { m.failAfter = 1 })
		resp, body := e.do("POST", testEndpoint+"/v1/chat/completions", `{"messages":[{"role":"user","content":"Hi"}],"n":2}`)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
		// The first choice reached the model, so the request is metered.
		if recs := e.usage.all(); len(recs) != 1 || recs[0].Status != 503 || recs[0].FinishReason != "cancelled" {
			t.Errorf("records = %+v", recs)
		}
	})
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("generation fails, stream=", stream), func(t *testing.T) {
			e := newEnv(t, func(_ *Options, _ *snapshot.Endpoint, m *fakeModel) { m.failAt = 2 })
			resp, body := e.do("POST", testEndpoint+"/chat/completions",
				fmt.Sprintf(`{"messages":[{"role":"user","content":"Hi"}],"stream":%v}`, stream))
			if stream {
				evs := sseEvents(t, body)
				if resp.StatusCode != 200 || !strings.Contains(evs[len(evs)-1], `"code":"internal_error"`) || strings.Contains(string(body), "[DONE]") {
					t.Errorf("stream: %s", body)
				}
			} else if resp.StatusCode != 500 || resp.Header.Get("x-ms-error-code") != "internal_error" {
				t.Errorf("%d %s", resp.StatusCode, body)
			}
			if recs := e.usage.all(); len(recs) != 1 || recs[0].Status != 500 || recs[0].FinishReason != "error" || recs[0].CompletionTokens != 2 {
				t.Errorf("records = %+v", recs)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t)
	resp, _ := e.do("OPTIONS", testEndpoint+"/chat/completions", "", "api-key", "", "Origin", "http://page.example",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "api-key, content-type")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "api-key") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = e.do("POST", testEndpoint+"/chat/completions", hello, "Origin", "http://page.example")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "x-ratelimit-remaining-tokens") {
		t.Errorf("request: %d %v", resp.StatusCode, resp.Header)
	}
}
