package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"maas/internal/testdata"
)

func TestBenchFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--model", "x.gguf", "--repetitions", "0"},
		{"--model", "x.gguf", "--prompt-tokens", "0", "--gen-tokens", "0"},
		{"--model", "x.gguf", "extra"},
	} {
		var out, errb bytes.Buffer
		err := runBench(context.Background(), args, Env{Stdout: &out, Stderr: &errb})
		if !errors.Is(err, errUsage) {
			t.Errorf("bench %q: error %v, want a usage error", args, err)
		}
	}
}

func TestBenchJSON(t *testing.T) {
	model := testdata.Phi3File(t, "tiny-phi3-q4_k_m.gguf")
	var out, errb bytes.Buffer
	err := runBench(context.Background(), []string{"--model", model, "--threads", "1", "--prompt-tokens", "8",
		"--gen-tokens", "2", "--repetitions", "1", "--json"}, Env{Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatalf("bench: %v (%s)", err, errb.String())
	}
	var res struct {
		Prompt float64 `json:"prompt_tokens_per_second"`
		Gen    float64 `json:"gen_tokens_per_second"`
		RSS    int64   `json:"peak_rss_bytes"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if res.Prompt <= 0 || res.Gen <= 0 || res.RSS <= 0 {
		t.Errorf("bench result %+v: want positive rates and RSS", res)
	}
}
