package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"maas/api/inference"
	"maas/internal/snapshot"
)

const hello = `{"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"What is the capital of France?"}]}`

func TestChatNonStreaming(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do("POST", testEndpoint+"/chat/completions?api-version=2024-05-01-preview", hello)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got := decodeJSON[inference.ChatCompletion](t, body)
	if got.Object != "chat.completion" || got.Model != testModel || !strings.HasPrefix(got.ID, "chatcmpl-") || got.Created == 0 {
		t.Errorf("envelope = %+v", got)
	}
	if len(got.Choices) != 1 || got.Choices[0].Message.Content != "Paris is the capital of France ." ||
		got.Choices[0].FinishReason != "stop" || got.Choices[0].Message.Role != "assistant" {
		t.Errorf("choices = %+v", got.Choices)
	}
	// 1 + (3+3) + (3+6) prompt tokens in the fake's counting.
	want := inference.Usage{PromptTokens: 16, CompletionTokens: 7, TotalTokens: 23}
	if got.Usage == nil || *got.Usage != want {
		t.Errorf("usage = %+v, want %+v", got.Usage, want)
	}
	for _, h := range []string{"x-request-id", "apim-request-id", "x-ratelimit-limit-requests", "x-ratelimit-limit-tokens",
		"x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("header %s missing", h)
		}
	}
	if resp.Header.Get("x-ratelimit-limit-tokens") != "200000" || resp.Header.Get("x-ratelimit-limit-requests") != "1000" {
		t.Errorf("default limits: %v", resp.Header)
	}
	// The reservation is prompt + max_tokens (the rest of the context): 4096.
	if got := resp.Header.Get("x-ratelimit-remaining-tokens"); got != "195904" {
		t.Errorf("remaining tokens = %s, want 195904", got)
	}
	// The model has no system role: the system turn became a user turn.
	if roles := []string{e.model.lastMsgs[0].Role, e.model.lastMsgs[1].Role}; roles[0] != "user" || roles[1] != "user" {
		t.Errorf("roles given to the model = %v", roles)
	}
	recs := e.usage.all()
	if len(recs) != 1 {
		t.Fatalf("%d usage records", len(recs))
	}
	r := recs[0]
	if r.RequestID != resp.Header.Get("x-request-id") || r.PromptTokens != 16 || r.CompletionTokens != 7 ||
		r.Status != 200 || r.FinishReason != "stop" || r.Project != "proj1" || r.Model != testModel || r.Stream {
		t.Errorf("record = %+v", r)
	}
	if fmt.Sprintf("%.6f/%.6f", r.InputCost, r.OutputCost) != fmt.Sprintf("%.6f/%.6f", 16*0.13/1000, 7*0.52/1000) {
		t.Errorf("cost = %v / %v", r.InputCost, r.OutputCost)
	}
}

func TestChatStreaming(t *testing.T) {
	for _, includeUsage := range []bool{false, true} {
		t.Run(fmt.Sprint("include_usage=", includeUsage), func(t *testing.T) {
			e := newEnv(t)
			body := `{"messages":[{"role":"user","content":"Hi there"}],"stream":true,"max_tokens":4` +
				fmt.Sprintf(`,"stream_options":{"include_usage":%v}}`, includeUsage)
			resp, raw := e.do("POST", testEndpoint+"/v1/chat/completions", body)
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				t.Fatalf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
			}
			evs := sseEvents(t, raw)
			if evs[len(evs)-1] != "[DONE]" {
				t.Fatalf("last event %q", evs[len(evs)-1])
			}
			var chunks []inference.ChatCompletionChunk
			for _, d := range evs[:len(evs)-1] {
				chunks = append(chunks, decodeJSON[inference.ChatCompletionChunk](t, []byte(d)))
			}
			first := chunks[0]
			if first.Choices[0].Delta.Role != "assistant" || first.Choices[0].Delta.Content == nil ||
				*first.Choices[0].Delta.Content != "" || first.Choices[0].FinishReason != nil {
				t.Errorf("first chunk = %s", evs[0])
			}
			if !strings.Contains(evs[0], `"content":""`) || !strings.Contains(evs[0], `"finish_reason":null`) {
				t.Errorf("first chunk wire form = %s", evs[0])
			}
			last := chunks[len(chunks)-1]
			if includeUsage {
				if len(last.Choices) != 0 || last.Usage == nil || last.Usage.CompletionTokens != 4 {
					t.Errorf("usage chunk = %s", evs[len(evs)-2])
				}
				chunks = chunks[:len(chunks)-1]
				last = chunks[len(chunks)-1]
			}
			// Usage is on the finish chunk (Azure) or, with include_usage,
			// only on the separate usage chunk (OpenAI): never twice.
			wantUsage := &inference.Usage{PromptTokens: 6, CompletionTokens: 4, TotalTokens: 10}
			if includeUsage {
				wantUsage = nil
			}
			if last.Choices[0].FinishReason == nil || *last.Choices[0].FinishReason != "length" ||
				fmt.Sprint(last.Usage) != fmt.Sprint(wantUsage) {
				t.Errorf("final chunk = %+v", last)
			}
			var text strings.Builder
			for _, c := range chunks[1 : len(chunks)-1] {
				if c.Object != "chat.completion.chunk" || c.Model != testModel || c.ID != first.ID || c.Usage != nil {
					t.Errorf("chunk = %+v", c)
				}
				text.WriteString(*c.Choices[0].Delta.Content)
			}
			if text.String() != "Paris is the capital" {
				t.Errorf("streamed text %q", text.String())
			}
			recs := e.usage.all()
			if len(recs) != 1 || !recs[0].Stream || recs[0].CompletionTokens != 4 || recs[0].FinishReason != "length" || recs[0].Status != 200 {
				t.Errorf("records = %+v", recs)
			}
		})
	}
}

func TestCompletions(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do("POST", testEndpoint+"/completions?api-version=2024-04-01-preview", `{"prompt":"Once upon a time","max_tokens":3}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got := decodeJSON[inference.Completion](t, body)
	if got.Object != "text_completion" || got.Choices[0].Text != "Paris is the" || *got.Choices[0].FinishReason != "length" ||
		*got.Usage != (inference.Usage{PromptTokens: 5, CompletionTokens: 3, TotalTokens: 8}) {
		t.Errorf("completion = %s", body)
	}
	resp, body = e.do("POST", testEndpoint+"/completions", `{"prompt":["Once"],"stream":true}`)
	evs := sseEvents(t, body)
	if resp.StatusCode != 200 || evs[len(evs)-1] != "[DONE]" {
		t.Fatalf("stream: %d %s", resp.StatusCode, body)
	}
	var text string
	for _, d := range evs[:len(evs)-1] {
		c := decodeJSON[inference.Completion](t, []byte(d))
		text += c.Choices[0].Text
	}
	if text != "Paris is the capital of France ." {
		t.Errorf("streamed %q", text)
	}
	if n := len(e.usage.all()); n != 2 {
		t.Errorf("%d usage records", n)
	}
}

func TestInfoModelsAndModalities(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do("GET", testEndpoint+"/info?api-version=2024-04-01-preview", "")
	info := decodeJSON[inference.ModelInfo](t, body)
	if resp.StatusCode != 200 || info != (inference.ModelInfo{ModelName: testModel, ModelType: "chat-completions", ModelProviderName: "Microsoft"}) {
		t.Errorf("info %d %s", resp.StatusCode, body)
	}
	resp, body = e.do("GET", "/v1/models", "", "api-key", "", "Authorization", "Bearer "+testKey)
	list := decodeJSON[inference.ModelList](t, body)
	if resp.StatusCode != 200 || list.Object != "list" || len(list.Data) != 1 || list.Data[0].ID != "phi" {
		t.Errorf("models %d %s", resp.StatusCode, body)
	}
	for _, p := range []string{"/embeddings", "/images/embeddings", "/v1/embeddings"} {
		resp, body = e.do("POST", testEndpoint+p, `{"input":"x"}`)
		if resp.StatusCode != 404 || !strings.Contains(string(body), "Modality not supported by the model") {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
	resp, _ = e.do("POST", "/serverless/eastus2/nope/chat/completions", hello)
	if resp.StatusCode != 404 {
		t.Errorf("unknown endpoint: %d", resp.StatusCode)
	}
	if n := len(e.usage.all()); n != 0 {
		t.Errorf("%d usage records for requests that never reached the model", n)
	}
}

func TestGlobalV1ChatSelectsEndpointByKey(t *testing.T) {
	e := newEnv(t)
	for _, model := range []string{"phi", testModel, ""} {
		body := `{"messages":[{"role":"user","content":"Hi"}]` + map[bool]string{true: `}`, false: `,"model":"` + model + `"}`}[model == ""]
		resp, raw := e.do("POST", "/v1/chat/completions", body)
		if resp.StatusCode != 200 {
			t.Errorf("model %q: %d %s", model, resp.StatusCode, raw)
		}
	}
	resp, raw := e.do("POST", "/v1/chat/completions", `{"model":"other","messages":[{"role":"user","content":"Hi"}]}`)
	if resp.StatusCode != 404 || !strings.Contains(string(raw), "model_not_found") {
		t.Errorf("mismatched model: %d %s", resp.StatusCode, raw)
	}
	resp, _ = e.do("POST", "/v1/chat/completions", hello, "api-key", "")
	if resp.StatusCode != 401 {
		t.Errorf("no key: %d", resp.StatusCode)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		hdr  []string
		want int
	}{
		{"api-key", nil, 200},
		{"secondary key", []string{"api-key", testKey2}, 200},
		{"bearer", []string{"api-key", "", "Authorization", "Bearer " + testKey}, 200},
		{"missing", []string{"api-key", ""}, 401},
		{"wrong", []string{"api-key", testKey + "x"}, 401},
		{"other endpoint's key", []string{"api-key", otherKey}, 401},
		{"basic scheme", []string{"api-key", "", "Authorization", "Basic " + testKey}, 401},
	}
	for _, c := range cases {
		resp, body := e.do("POST", testEndpoint+"/chat/completions", hello, c.hdr...)
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d: %s", c.name, resp.StatusCode, c.want, body)
			continue
		}
		if c.want == 401 {
			er := decodeJSON[inference.ErrorResponse](t, body)
			if er.Error == nil || er.Error.Status != 401 || er.Error.Code != "unauthorized" || resp.Header.Get("x-ms-error-code") != "unauthorized" {
				t.Errorf("%s: body %s", c.name, body)
			}
		}
	}
}

func TestAPIVersion(t *testing.T) {
	e := newEnv(t)
	custom := newEnv(t, func(o *Options, _ *snapshot.Endpoint, _ *fakeModel) { o.APIVersions = []string{"2025-01-01"} })
	if resp, body := custom.do("GET", testEndpoint+"/info?api-version=2025-01-01", ""); resp.StatusCode != 200 {
		t.Errorf("configured version: %d %s", resp.StatusCode, body)
	}
	if resp, _ := custom.do("GET", testEndpoint+"/info?api-version=2024-05-01-preview", ""); resp.StatusCode != 400 {
		t.Errorf("version not configured: %d", resp.StatusCode)
	}
	for v, want := range map[string]int{"": 200, "?api-version=2024-05-01-preview": 200, "?api-version=2024-04-01-preview": 200,
		"?api-version=2023-01-01": 400, "?api-version=banana": 400} {
		resp, body := e.do("POST", testEndpoint+"/chat/completions"+v, hello)
		if resp.StatusCode != want {
			t.Errorf("%q: %d %s", v, resp.StatusCode, body)
		}
	}
}

func TestExtraParameters(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, mode, body string
		want             int
		mention          string
	}{
		{"unknown field, default", "", `{"messages":[{"role":"user","content":"Hi"}],"foo":1}`, 400, "'foo'"},
		{"unknown field, error", "error", `{"messages":[{"role":"user","content":"Hi"}],"foo":1}`, 400, "'foo'"},
		{"unknown field, drop", "drop", `{"messages":[{"role":"user","content":"Hi"}],"foo":1}`, 200, ""},
		{"unknown field, ignore", "ignore", `{"messages":[{"role":"user","content":"Hi"}],"foo":1}`, 200, ""},
		{"unknown field, pass-through to the built-in engine", "pass-through", `{"messages":[{"role":"user","content":"Hi"}],"foo":1}`, 422, "parameter_not_supported"},
		{"extra n, default", "", `{"messages":[{"role":"user","content":"Hi"}],"n":2}`, 400, "'n'"},
		{"extra logprobs, drop", "drop", `{"messages":[{"role":"user","content":"Hi"}],"logprobs":true}`, 200, ""},
		{"bad mode", "sometimes", `{"messages":[{"role":"user","content":"Hi"}]}`, 400, "extra-parameters"},
	}
	for _, c := range cases {
		resp, body := e.do("POST", testEndpoint+"/chat/completions", c.body, "extra-parameters", c.mode)
		if resp.StatusCode != c.want || !strings.Contains(string(body), c.mention) {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, body)
		}
	}
	// pass-through: n, logprobs, top_logprobs and logit_bias reach the model.
	resp, body := e.do("POST", testEndpoint+"/chat/completions",
		`{"messages":[{"role":"user","content":"Hi"}],"n":2,"logprobs":true,"top_logprobs":2,"logit_bias":{"42":-100},"max_tokens":2}`,
		"extra-parameters", "pass-through")
	if resp.StatusCode != 200 {
		t.Fatalf("pass-through: %d %s", resp.StatusCode, body)
	}
	got := decodeJSON[inference.ChatCompletion](t, body)
	if len(got.Choices) != 2 || got.Choices[1].Index != 1 || got.Usage.CompletionTokens != 4 {
		t.Errorf("n=2: %s", body)
	}
	lp := got.Choices[0].Logprobs
	if lp == nil || len(lp.Content) != 2 || len(lp.Content[0].TopLogprobs) != 2 || lp.Content[0].Token != "Paris" {
		t.Errorf("logprobs: %s", body)
	}
	if seeds := e.model.seeds[len(e.model.seeds)-2:]; fmt.Sprint(seeds) != "[-1 -1]" {
		t.Errorf("seeds without a seed = %v", seeds)
	}
	if b := e.model.lastReq.LogitBias[42]; b != -100 {
		t.Errorf("logit_bias given to the model = %v", e.model.lastReq.LogitBias)
	}
	// The OpenAI surface has these fields in its schema.
	resp, body = e.do("POST", testEndpoint+"/v1/chat/completions", `{"messages":[{"role":"user","content":"Hi"}],"n":1,"user":"u1","max_completion_tokens":1}`)
	if resp.StatusCode != 200 {
		t.Errorf("openai surface: %d %s", resp.StatusCode, body)
	}
}

func TestCapabilities(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, body string
		loc        []any
		input      any
	}{
		{"json mode", `{"messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_object"}}`,
			[]any{"body", "response_format"}, "json_object"},
		{"tools", `{"messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}`,
			[]any{"body", "tools"}, []any{map[string]any{"type": "function", "function": map[string]any{"name": "f"}}}},
		{"tool_choice", `{"messages":[{"role":"user","content":"Hi"}],"tool_choice":"auto"}`, []any{"body", "tool_choice"}, "auto"},
		{"image part", `{"messages":[{"role":"user","content":[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"x"}}]}]}`,
			[]any{"body", "messages", 0.0, "content", 1.0, "type"}, "image_url"},
	}
	for _, c := range cases {
		resp, body := e.do("POST", testEndpoint+"/chat/completions", c.body)
		if resp.StatusCode != 422 {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, body)
			continue
		}
		var got struct {
			Status int    `json:"status"`
			Code   string `json:"code"`
			Detail struct {
				Loc   []any `json:"loc"`
				Input any   `json:"input"`
			} `json:"detail"`
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Status != 422 || got.Code != "parameter_not_supported" || got.Error.Code != "parameter_not_supported" ||
			fmt.Sprint(got.Detail.Loc) != fmt.Sprint(c.loc) || fmt.Sprint(got.Detail.Input) != fmt.Sprint(c.input) {
			t.Errorf("%s: %s", c.name, body)
		}
	}
	// Text parts are fine; response_format text is fine.
	resp, body := e.do("POST", testEndpoint+"/chat/completions",
		`{"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"response_format":{"type":"text"},"tool_choice":"none"}`)
	if resp.StatusCode != 200 {
		t.Errorf("text parts: %d %s", resp.StatusCode, body)
	}
	if n := len(e.usage.all()); n != 1 {
		t.Errorf("%d usage records, want 1", n)
	}
}

func TestSystemRoleKeptWhenSupported(t *testing.T) {
	e := newEnv(t, func(o *Options, ep *snapshot.Endpoint, m *fakeModel) { ep.Model.SystemRole = true })
	resp, body := e.do("POST", testEndpoint+"/chat/completions", hello)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if e.model.lastMsgs[0].Role != "system" {
		t.Errorf("roles = %+v", e.model.lastMsgs)
	}
}

func TestValidation(t *testing.T) {
	e := newEnv(t)
	big := `{"messages":[{"role":"user","content":"` + strings.Repeat("a", 5<<20) + `"}]}`
	cases := []struct {
		name, body string
		want       int
		mention    string
	}{
		{"malformed JSON", `{"messages":[`, 400, "not valid JSON"},
		{"not an object", `[1,2]`, 400, "JSON object"},
		{"no messages", `{"temperature":0.5}`, 400, "'messages' is required"},
		{"empty messages", `{"messages":[]}`, 422, "at least one"},
		{"wrong type", `{"messages":[{"role":"user","content":"Hi"}],"temperature":"hot"}`, 400, "'temperature': expected a number, got string"},
		{"nested wrong type", `{"messages":[{"role":1,"content":"Hi"}]}`, 400, "'messages"},
		{"content type", `{"messages":[{"role":"user","content":5}]}`, 400, "content must be a string or an array"},
		{"bad role", `{"messages":[{"role":"wizard","content":"Hi"}]}`, 422, "role"},
		{"temperature range", `{"messages":[{"role":"user","content":"Hi"}],"temperature":3}`, 422, "temperature"},
		{"top_p range", `{"messages":[{"role":"user","content":"Hi"}],"top_p":0}`, 422, "top_p"},
		{"max_tokens zero", `{"messages":[{"role":"user","content":"Hi"}],"max_tokens":0}`, 422, "max_tokens"},
		{"penalty range", `{"messages":[{"role":"user","content":"Hi"}],"presence_penalty":-3}`, 422, "presence_penalty"},
		{"stop type", `{"messages":[{"role":"user","content":"Hi"}],"stop":7}`, 400, "stop must be a string or an array"},
		{"body limit", big, 413, "larger than"},
	}
	for _, c := range cases {
		resp, body := e.do("POST", testEndpoint+"/chat/completions", c.body)
		if resp.StatusCode != c.want || !strings.Contains(string(body), c.mention) {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, truncate(body))
		}
		if resp.Header.Get("x-ms-error-code") == "" || resp.Header.Get("x-ratelimit-remaining-tokens") == "" {
			t.Errorf("%s: headers %v", c.name, resp.Header)
		}
	}
	// Stop as a string reaches the model as a list.
	resp, body := e.do("POST", testEndpoint+"/chat/completions", `{"messages":[{"role":"user","content":"Hi"}],"stop":"<|end|>","seed":7,"temperature":0}`)
	if resp.StatusCode != 200 || !slices.Equal(e.model.lastReq.Stop, []string{"<|end|>"}) || *e.model.lastReq.Seed != 7 || e.model.lastReq.Temperature != 0 {
		t.Errorf("stop/seed: %d %s %+v", resp.StatusCode, body, e.model.lastReq)
	}
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

func TestContextLength(t *testing.T) {
	e := newEnv(t, func(o *Options, ep *snapshot.Endpoint, m *fakeModel) { m.ctxLen = 20 })
	long := `{"messages":[{"role":"user","content":"` + strings.Repeat("word ", 30) + `"}]}`
	resp, body := e.do("POST", testEndpoint+"/chat/completions", long)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "context_length_exceeded") {
		t.Errorf("long prompt: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do("POST", testEndpoint+"/chat/completions", `{"messages":[{"role":"user","content":"Hi"}],"max_tokens":100}`)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "max_tokens") {
		t.Errorf("max_tokens past the context: %d %s", resp.StatusCode, body)
	}
	// Without max_tokens the budget is the rest of the context (20 - 5 = 15).
	resp, body = e.do("POST", testEndpoint+"/chat/completions", `{"messages":[{"role":"user","content":"Hi"}]}`)
	if resp.StatusCode != 200 || e.model.lastReq.MaxTokens != 15 {
		t.Errorf("default budget: %d %s max=%d", resp.StatusCode, body, e.model.lastReq.MaxTokens)
	}
}

func TestQueueFull(t *testing.T) {
	e := newEnv(t, func(o *Options, ep *snapshot.Endpoint, m *fakeModel) { m.queueFull = true })
	resp, body := e.do("POST", testEndpoint+"/chat/completions", hello)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("x-ms-error-code") != "server_busy" {
		t.Errorf("%d %v %s", resp.StatusCode, resp.Header, body)
	}
	if n := len(e.usage.all()); n != 0 {
		t.Errorf("%d usage records for a request that never ran", n)
	}
	// The reservation was given back.
	if got := resp.Header.Get("x-ratelimit-remaining-tokens"); got == "" {
		t.Errorf("no quota headers")
	}
	_, _ = e.do("GET", testEndpoint+"/info", "")
	resp, _ = e.do("GET", testEndpoint+"/info", "")
	if got := resp.Header.Get("x-ratelimit-remaining-tokens"); got != "200000" {
		t.Errorf("remaining tokens after a refused request = %s", got)
	}
}

func TestEndpointOffline(t *testing.T) {
	e := newEnv(t, func(o *Options, ep *snapshot.Endpoint, m *fakeModel) { ep.Online = false })
	resp, body := e.do("POST", testEndpoint+"/chat/completions", hello)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "not online") {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
}
