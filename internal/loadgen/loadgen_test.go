package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer answers chat completions with an SSE stream in the gateway's
// shape: a role chunk, one chunk per word of reply, a finish chunk with
// usage (unless noUsage), then [DONE].
type fakeServer struct {
	reply   string
	noUsage bool
	mu      sync.Mutex
	bodies  []map[string]any
	headers []http.Header
	queries []string
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.headers = append(f.headers, r.Header.Clone())
	f.queries = append(f.queries, r.URL.Path+"?"+r.URL.RawQuery)
	f.mu.Unlock()
	writeStream(w, f.reply, !f.noUsage)
}

func writeStream(w http.ResponseWriter, reply string, usage bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	fmt.Fprint(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n")
	fl.Flush()
	parts := strings.Fields(reply)
	for i, p := range parts {
		if i > 0 {
			p = " " + p
		}
		b, _ := json.Marshal(p)
		fmt.Fprintf(w, "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%s},\"finish_reason\":null}]}\n\n", b)
		fl.Flush()
	}
	u := ""
	if usage {
		u = fmt.Sprintf(`,"usage":{"prompt_tokens":11,"completion_tokens":%d,"total_tokens":%d}`, len(parts), 11+len(parts))
	}
	fmt.Fprintf(w, "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]%s}\n\n", u)
	fmt.Fprint(w, "data: [DONE]\n\n")
	fl.Flush()
}

func TestStreamMeasuresOneRequest(t *testing.T) {
	f := &fakeServer{reply: "Paris is the capital"}
	srv := httptest.NewServer(f)
	defer srv.Close()
	tg := &Target{URL: srv.URL + "/serverless/eastus2/ep/", Key: "k1"}
	res, err := tg.Stream(context.Background(), Request{
		Messages: []Message{{Role: "system", Content: "Be terse."}, {Role: "user", Content: "Capital of France?"}}, MaxTokens: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "Paris is the capital" || res.Chunks != 4 || res.CompletionTokens != 4 || res.PromptTokens != 11 ||
		!res.UsageSeen || res.FinishReason != "length" {
		t.Errorf("result = %+v", res)
	}
	if res.FirstToken <= 0 || res.FirstToken > res.Total {
		t.Errorf("first token %v, total %v", res.FirstToken, res.Total)
	}
	if got := f.queries[0]; got != "/serverless/eastus2/ep/chat/completions?api-version="+APIVersion {
		t.Errorf("request path %q", got)
	}
	h := f.headers[0]
	if h.Get("Authorization") != "Bearer k1" || h.Get("Content-Type") != "application/json" || h.Get("extra-parameters") != "" {
		t.Errorf("headers %v", h)
	}
	b := f.bodies[0]
	if b["stream"] != true || b["temperature"] != 0.0 || b["max_tokens"] != 4.0 || len(b) != 4 {
		t.Errorf("body %v", b)
	}
	msgs := b["messages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["role"] != "system" {
		t.Errorf("messages %v", msgs)
	}
}

func TestStreamWithoutUsageCountsChunks(t *testing.T) {
	srv := httptest.NewServer(&fakeServer{reply: "a b c", noUsage: true})
	defer srv.Close()
	res, err := (&Target{URL: srv.URL}).Stream(context.Background(), Request{Messages: []Message{{Role: "user", Content: "x"}}, MaxTokens: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.UsageSeen || res.CompletionTokens != 3 || res.PromptTokens != 0 {
		t.Errorf("result = %+v", res)
	}
}

func TestStreamErrors(t *testing.T) {
	cases := map[string]struct {
		h    http.HandlerFunc
		want string
	}{
		"status": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			io.WriteString(w, `{"error":{"code":"TooManyRequests","message":"queue full","status":429}}`)
		}, "HTTP 429: TooManyRequests: queue full"},
		"plain status": {func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "nope", 503)
		}, "HTTP 503: nope"},
		"in-stream error": {func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"+
				"data: {\"error\":{\"code\":\"internal_error\",\"message\":\"boom\"}}\n\n")
		}, "internal_error: boom"},
		"cut off": {func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n")
		}, "without a finish reason"},
		"bad json": {func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "data: {nope\n\n")
		}, "decode event"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(c.h)
			defer srv.Close()
			_, err := (&Target{URL: srv.URL}).Stream(context.Background(), Request{Messages: []Message{{Role: "user", Content: "x"}}, MaxTokens: 1})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if name == "status" {
				var se *StatusError
				if !errors.As(err, &se) || se.Status != 429 {
					t.Errorf("not a StatusError 429: %#v", err)
				}
			}
		})
	}
	_, err := (&Target{URL: "http://127.0.0.1:1"}).Stream(context.Background(), Request{MaxTokens: 1})
	if err == nil || !strings.Contains(err.Error(), "needs messages") {
		t.Errorf("empty request: %v", err)
	}
}

// TestRunConcurrentStartsAllTogether: the server holds every request until
// all n have arrived, so the level finishes only if they ran concurrently.
func TestRunConcurrentStartsAllTogether(t *testing.T) {
	const n = 5
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages []Message `json:"messages"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		arrived++
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(10 * time.Second):
			http.Error(w, "not concurrent", 500)
			return
		}
		if body.Messages[0].Content == "fail" {
			http.Error(w, `{"error":{"code":"Bad","message":"asked to fail"}}`, 400)
			return
		}
		writeStream(w, body.Messages[0].Content, true)
	}))
	defer srv.Close()
	lv, err := RunConcurrent(context.Background(), &Target{URL: srv.URL}, n, func(i int) Request {
		c := strings.Repeat("w ", i+1)
		if i == 3 {
			c = "fail"
		}
		return Request{Messages: []Message{{Role: "user", Content: c}}, MaxTokens: 8}
	})
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(lv)
	// Requests 0,1,2,4 reply with 1,2,3,5 words.
	if s.Streams != n || s.Requests != n || s.Failed != 1 || s.CompletionTokens != 11 || s.PromptTokens != 11 {
		t.Errorf("summary = %+v", s)
	}
	if !strings.Contains(s.FirstError, "asked to fail") || lv.Err() == nil {
		t.Errorf("first error %q, Err %v", s.FirstError, lv.Err())
	}
	if s.AggregateTPS <= 0 || s.TTFTMedianS <= 0 || s.TTFTP90S < s.TTFTMedianS || s.TTFTMaxS < s.TTFTP90S || s.WallS <= 0 {
		t.Errorf("rates and times = %+v", s)
	}
	if _, err := RunConcurrent(context.Background(), &Target{URL: srv.URL}, 0, nil); err == nil {
		t.Error("0 streams accepted")
	}
}

func TestSummarizeArithmetic(t *testing.T) {
	ms := time.Millisecond
	lv := Level{Streams: 2, Wall: 2 * time.Second, Errors: make([]error, 2), Results: []Result{
		{FirstToken: 100 * ms, Total: 1100 * ms, CompletionTokens: 11, PromptTokens: 10},
		{FirstToken: 300 * ms, Total: 2 * time.Second, CompletionTokens: 1, PromptTokens: 20},
	}}
	s := Summarize(lv)
	// 12 tokens in 2 s; only the first stream has a decode rate: 10 tokens in 1 s.
	if s.CompletionTokens != 12 || s.AggregateTPS != 6 || s.PerStreamTPS != 10 || s.PromptTokens != 15 {
		t.Errorf("summary = %+v", s)
	}
	if fmt.Sprintf("%.3f %.3f %.3f", s.TTFTMedianS, s.TTFTP90S, s.TTFTMaxS) != "0.200 0.280 0.300" {
		t.Errorf("ttft = %v %v %v", s.TTFTMedianS, s.TTFTP90S, s.TTFTMaxS)
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for p, want := range map[float64]float64{0: 1, 50: 3, 90: 4.6, 100: 5, 25: 2, -5: 1, 150: 5} {
		if got := Percentile(xs, p); fmt.Sprintf("%.6f", got) != fmt.Sprintf("%.6f", want) {
			t.Errorf("Percentile(%v) = %v, want %v", p, got, want)
		}
	}
	if xs[0] != 5 {
		t.Error("input sorted in place")
	}
	if Percentile(nil, 50) != 0 || Percentile([]float64{7}, 90) != 7 {
		t.Error("edge cases")
	}
}

func TestWords(t *testing.T) {
	a, b := Words(1, 50), Words(1, 50)
	if a != b {
		t.Error("not deterministic")
	}
	if a == Words(2, 50) {
		t.Error("seeds 1 and 2 give the same text")
	}
	if n := len(strings.Fields(a)); n != 50 {
		t.Errorf("%d words", n)
	}
	if Words(1, 0) != "" || Words(1, -3) != "" {
		t.Error("n <= 0 gives text")
	}
}

func TestMetrics(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "# HELP x y\n# TYPE maas_model_cold_starts_total counter\nmaas_model_cold_starts_total 2\n"+
			"maas_model_load_seconds_total 0.25 1700000000\nreqs{code=\"200\",path=\"a b\"} 7\n\n")
	}))
	defer srv.Close()
	m, err := Metrics(context.Background(), nil, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if m["maas_model_cold_starts_total"] != 2 || m["maas_model_load_seconds_total"] != 0.25 || m[`reqs{code="200",path="a b"}`] != 7 || len(m) != 3 {
		t.Errorf("metrics = %v", m)
	}
	if _, err := parseMetrics(strings.NewReader("x notanumber\n")); err == nil {
		t.Error("bad value accepted")
	}
	bad := httptest.NewServer(http.NotFoundHandler())
	defer bad.Close()
	if _, err := Metrics(context.Background(), nil, bad.URL); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
}
