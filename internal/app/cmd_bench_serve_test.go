package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"maas/internal/testdata"
)

func TestBenchServeFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--model", "x.gguf", "--url", "http://h/e"},
		{"--url", "http://h/e", "--streams", "1,0"},
		{"--url", "http://h/e", "--streams", "a"},
		{"--url", "http://h/e", "--streams", ","},
		{"--url", "http://h/e", "--gen-tokens", "0"},
		{"--url", "http://h/e", "--prefix-tokens", "-1"},
		{"--url", "http://h/e", "--prefix-pairs", "0"},
		{"--url", "http://h/e", "extra"},
	} {
		var out, errb bytes.Buffer
		err := runBenchServe(context.Background(), args, Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
		if !errors.Is(err, errUsage) {
			t.Errorf("bench serve %q: error %v, want a usage error", args, err)
		}
	}
}

// benchReport is the part of --json the tests read.
type benchReport struct {
	ColdStart *struct {
		Cold         *bool   `json:"cold"`
		PromptTokens int     `json:"prompt_tokens"`
		FirstTTFTS   float64 `json:"first_ttft_s"`
		WarmTTFTS    float64 `json:"warm_ttft_s"`
	} `json:"cold_start"`
	PrefixCache *struct {
		PromptTokens int     `json:"prompt_tokens"`
		FirstTTFTS   float64 `json:"first_ttft_s"`
		SecondTTFTS  float64 `json:"second_ttft_s"`
		Speedup      float64 `json:"speedup"`
	} `json:"prefix_cache"`
	Levels []struct {
		Streams          int     `json:"streams"`
		Requests         int     `json:"requests"`
		Failed           int     `json:"failed"`
		CompletionTokens int     `json:"completion_tokens"`
		AggregateTPS     float64 `json:"aggregate_tokens_per_second"`
		TTFTMedianS      float64 `json:"ttft_median_s"`
		TPSVs1           float64 `json:"aggregate_tokens_per_second_vs_1"`
	} `json:"levels"`
}

func TestBenchServeInProcess(t *testing.T) {
	model := testdata.Phi3File(t, "tiny-phi3-q4_k_m.gguf")
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	var out, errb bytes.Buffer
	err := runBenchServe(context.Background(), []string{"--model", model, "--threads", "1", "--streams", "1,2",
		"--prompt-tokens", "8", "--gen-tokens", "4", "--prefix-tokens", "64", "--cpuprofile", prof, "--json"},
		Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatalf("bench serve: %v\n%s", err, errb.String())
	}
	var rep benchReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if st, err := os.Stat(prof); err != nil || st.Size() == 0 {
		t.Errorf("CPU profile: %v", err)
	}
	c := rep.ColdStart
	if c == nil || c.Cold == nil || !*c.Cold || c.FirstTTFTS <= 0 || c.WarmTTFTS <= 0 || c.PromptTokens < 8 {
		t.Errorf("cold start = %+v", c)
	}
	p := rep.PrefixCache
	if p == nil || p.PromptTokens < 64 || p.FirstTTFTS <= 0 || p.SecondTTFTS <= 0 || p.Speedup <= 0 {
		t.Errorf("prefix cache = %+v", p)
	}
	if len(rep.Levels) != 2 {
		t.Fatalf("levels = %+v", rep.Levels)
	}
	for i, l := range rep.Levels {
		n := i + 1
		if l.Streams != n || l.Requests != n || l.Failed != 0 || l.CompletionTokens < n || l.CompletionTokens > 4*n ||
			l.AggregateTPS <= 0 || l.TTFTMedianS <= 0 || l.TPSVs1 <= 0 {
			t.Errorf("level %d = %+v", n, l)
		}
	}
}

// TestBenchServeURLPrompts drives a fake endpoint and checks what it was
// sent: distinct prompts for the load levels, a shared system turn for the
// prefix test, the key, and N requests per level.
func TestBenchServeURLPrompts(t *testing.T) {
	var mu sync.Mutex
	var bodies []struct {
		Messages []struct{ Role, Content string } `json:"messages"`
		Max      int                              `json:"max_tokens"`
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer sekret" {
			http.Error(w, "no key", 401)
			return
		}
		var b struct {
			Messages []struct{ Role, Content string } `json:"messages"`
			Max      int                              `json:"max_tokens"`
		}
		json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < b.Max; i++ {
			fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":null}]}\n\n")
		}
		fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],"+
			"\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d}}\n\ndata: [DONE]\n\n", len(strings.Fields(b.Messages[0].Content)), b.Max)
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	err := runBenchServe(context.Background(), []string{"--url", srv.URL + "/serverless/eastus2/ep", "--streams", "1,3",
		"--prompt-tokens", "5", "--gen-tokens", "3", "--prefix-tokens", "20"},
		Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
			if k == "MAAS_ENDPOINT_KEY" {
				return "sekret"
			}
			return ""
		}})
	if err != nil {
		t.Fatalf("bench serve: %v\n%s", err, errb.String())
	}
	// cold 2 + prefix 4 + levels 1+3.
	if len(bodies) != 10 {
		t.Fatalf("%d requests", len(bodies))
	}
	seen := map[string]bool{}
	for i, b := range bodies {
		first := b.Messages[0].Content
		switch {
		case i >= 2 && i < 6:
			if len(b.Messages) != 2 || b.Messages[0].Role != "system" || len(strings.Fields(first)) != 20 {
				t.Errorf("prefix request %d = %+v", i, b)
			}
			if (i == 3 || i == 5) && first != bodies[i-1].Messages[0].Content {
				t.Errorf("prefix request %d does not share the system turn of the one before", i)
			}
			if i == 4 && first == bodies[2].Messages[0].Content {
				t.Error("the second prefix pair reuses the first system turn")
			}
			continue
		case i >= 6 && (len(strings.Fields(first)) != 5 || b.Max != 3):
			t.Errorf("load request %d = %+v", i, b)
		}
		if seen[first] {
			t.Errorf("request %d repeats a prompt: %q", i, first)
		}
		seen[first] = true
	}
	text := out.String()
	for _, want := range []string{"cold start   first request TTFT", "unknown whether cold", "prefix cache 20-token prompt", "streams"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if lines := strings.Split(strings.TrimSpace(text), "\n"); len(lines) != 6 || !strings.HasPrefix(strings.TrimSpace(lines[5]), "3 ") {
		t.Errorf("output:\n%s", text)
	}
}
