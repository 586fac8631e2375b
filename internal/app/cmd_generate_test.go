package app

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"maas/internal/testdata"
)

func TestGenerateCommandGreedyGolden(t *testing.T) {
	var g struct {
		Prompts []struct {
			Name      string  `json:"name"`
			TokenIDs  []int32 `json:"token_ids"`
			GreedyIDs []int32 `json:"greedy_ids"`
		} `json:"prompts"`
	}
	b, err := os.ReadFile(testdata.Phi3File(t, "tiny-phi3-f16.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	p := g.Prompts[0]
	var ids []string
	for _, id := range p.TokenIDs {
		ids = append(ids, strconv.Itoa(int(id)))
	}
	model := testdata.Phi3File(t, "tiny-phi3-f16.gguf")
	code, out, errOut := runCmd("generate", "--model", model, "--tokens", strings.Join(ids, ","),
		"--temperature", "0", "--ignore-eos", "--max-tokens", "24", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		IDs          []int32 `json:"ids"`
		Text         string  `json:"text"`
		FinishReason string  `json:"finish_reason"`
		PromptTokens int     `json:"prompt_tokens"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if !slices.Equal(res.IDs, p.GreedyIDs) || res.FinishReason != "length" || res.PromptTokens != len(p.TokenIDs) || res.Text == "" {
		t.Fatalf("got %+v, want ids %v", res, p.GreedyIDs)
	}

	// The chat form of the same prompt gives the same tokens.
	code, out, errOut = runCmd("generate", "--model", model, "--chat", "--prompt", "What is the capital of France?",
		"--temperature", "0", "--ignore-eos", "--max-tokens", "24", "--json")
	if code != 0 {
		t.Fatalf("chat: exit %d: %s", code, errOut)
	}
	res.IDs = nil
	if err := json.Unmarshal([]byte(out), &res); err != nil || !slices.Equal(res.IDs, p.GreedyIDs) {
		t.Fatalf("chat: %v %+v", err, res)
	}

	// Plain output streams text to stdout and timings to stderr.
	code, out, errOut = runCmd("generate", "--model", model, "--prompt", "Hello", "--max-tokens", "4", "--seed", "1")
	if code != 0 || out == "" || !strings.Contains(errOut, "tok/s") {
		t.Fatalf("plain: exit %d out %q err %q", code, out, errOut)
	}
	for _, bad := range [][]string{
		{"--model", model},
		{"--model", model, "--prompt", "x", "--tokens", "1"},
		{"--model", model, "--tokens", "1,x"},
		{"--model", model, "--tokens", "1", "--chat"},
		{"--model", model, "--prompt", "x", "--temperature", "-1"},
	} {
		if code, _, _ := runCmd(append([]string{"generate"}, bad...)...); code != 2 {
			t.Errorf("generate %q: exit %d, want 2", bad, code)
		}
	}
}
