package engine

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"maas/internal/engine/sample"
	"maas/internal/testdata"
)

type golden struct {
	Prompts []struct {
		Name      string  `json:"name"`
		TokenIDs  []int32 `json:"token_ids"`
		GreedyIDs []int32 `json:"greedy_ids"`
	} `json:"prompts"`
}

func loadGolden(t *testing.T, name string) golden {
	t.Helper()
	b, err := os.ReadFile(testdata.Phi3File(t, name))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return g
}

func collect(t *testing.T, st *Stream) ([]int32, Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, ids, final, err := st.Collect(ctx)
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	return ids, final
}

// Greedy generation through the scheduler reproduces llama.cpp's greedy
// tokens on the F16 model (every golden margin is >= 0.036, far above the
// engine's error), alone and with all prompts batched together.
func TestGreedyGoldenAloneAndBatched(t *testing.T) {
	g := loadGolden(t, "tiny-phi3-f16.golden.json")
	e, err := Load(testdata.Phi3File(t, "tiny-phi3-f16.gguf"), Options{ContextLen: 1024, ChunkSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	req := func(p []int32) Request {
		return Request{Prompt: p, MaxTokens: 24, IgnoreEOS: true, Sampling: sample.Params{}}
	}
	alone := make([][]int32, len(g.Prompts))
	for i, p := range g.Prompts {
		st, err := e.Generate(context.Background(), req(p.TokenIDs))
		if err != nil {
			t.Fatal(err)
		}
		ids, final := collect(t, st)
		if final.FinishReason != FinishLength {
			t.Fatalf("%s: finish %q (%v)", p.Name, final.FinishReason, final.Err)
		}
		if !slices.Equal(ids, p.GreedyIDs) {
			t.Errorf("%s: greedy %v, llama.cpp %v", p.Name, ids, p.GreedyIDs)
		}
		alone[i] = ids
	}
	var streams []*Stream
	for _, p := range g.Prompts {
		st, err := e.Generate(context.Background(), req(p.TokenIDs))
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, st)
	}
	for i, st := range streams {
		if ids, _ := collect(t, st); !slices.Equal(ids, alone[i]) {
			t.Errorf("%s: batched %v, alone %v", g.Prompts[i].Name, ids, alone[i])
		}
	}
	if s := e.Stats(); s.Active != 0 || s.Completed != int64(2*len(g.Prompts)) {
		t.Errorf("stats after the runs: %+v", s)
	}
}

func TestChatAndLimits(t *testing.T) {
	e, err := Load(testdata.Phi3File(t, "tiny-phi3-q4_k_m.gguf"), Options{ContextLen: 32, MaxQueue: 1, MaxSeqs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.ContextLength() != 32 || e.Tokenizer().Len() != 32064 || e.SupportsSystemRole() {
		t.Fatalf("ContextLength %d, vocab %d, system %v", e.ContextLength(), e.Tokenizer().Len(), e.SupportsSystemRole())
	}
	ids, err := e.RenderChat([]Message{{Role: "user", Content: "What is the capital of France?"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{1, 32010, 1724, 338, 278, 7483, 310, 3444, 29973, 32007, 32001}; !slices.Equal(ids, want) {
		t.Fatalf("RenderChat = %v", ids)
	}
	// The context bounds the completion: 11 prompt + 21 fed = 32 positions,
	// plus the token sampled from the last one.
	st, err := e.Generate(context.Background(), Request{Prompt: ids, IgnoreEOS: true})
	if err != nil {
		t.Fatal(err)
	}
	out, final := collect(t, st)
	if final.FinishReason != FinishLength || len(out) != 32-len(ids)+1 {
		t.Fatalf("finish %q after %d tokens", final.FinishReason, len(out))
	}
	long := make([]int32, 40)
	if _, err := e.Generate(context.Background(), Request{Prompt: long}); !errors.Is(err, ErrPromptTooLong) {
		t.Fatalf("long prompt: %v", err)
	}
	if _, err := Load(testdata.Phi3File(t, "tiny-phi3-f16.gguf"), Options{ContextLen: 1 << 20}); err == nil {
		t.Fatal("context above the model's accepted")
	}
	if _, err := Load(testdata.Phi3File(t, "vocab-phi3.gguf"), Options{}); err == nil {
		t.Fatal("vocabulary-only file loaded as a model")
	}
}

// A prompt that shares a prefix with an earlier request reuses its cache and
// gives the same greedy tokens as without reuse.
func TestPrefixReuseSameTokens(t *testing.T) {
	g := loadGolden(t, "tiny-phi3-f16.golden.json")
	var eng300 []int32
	for _, p := range g.Prompts {
		if p.Name == "english300" {
			eng300 = p.TokenIDs
		}
	}
	if len(eng300) < 300 {
		t.Fatalf("english300 prompt has %d tokens", len(eng300))
	}
	path := testdata.Phi3File(t, "tiny-phi3-f16.gguf")
	gen := func(e *Engine, p []int32) []int32 {
		st, err := e.Generate(context.Background(), Request{Prompt: p, MaxTokens: 6, IgnoreEOS: true})
		if err != nil {
			t.Fatal(err)
		}
		ids, _ := collect(t, st)
		return ids
	}
	with, err := Load(path, Options{ContextLen: 512})
	if err != nil {
		t.Fatal(err)
	}
	defer with.Close()
	without, err := Load(path, Options{ContextLen: 512, PrefixCache: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer without.Close()
	for _, p := range [][]int32{eng300[:100], eng300[:140], eng300[:140], eng300[:180]} {
		if a, b := gen(with, p), gen(without, p); !slices.Equal(a, b) {
			t.Fatalf("prompt of %d tokens: with prefix reuse %v, without %v", len(p), a, b)
		}
	}
	if st := with.Stats(); st.PrefixHits != 3 || without.Stats().PrefixHits != 0 {
		t.Fatalf("prefix hits %d / %d", st.PrefixHits, without.Stats().PrefixHits)
	}
}
