package engine

import (
	"context"
	"errors"
	"slices"
	"testing"

	"maas/internal/engine/sample"
	"maas/internal/testdata"
)

// sharedPrompts returns two prompts with a common start of at least n tokens.
func sharedPrompts(e *Engine, n int) (a, b []int32) {
	tok := e.Tokenizer()
	system := []int32{tok.BOS()}
	for len(system) < n {
		system = append(system, tok.Encode("You are a careful assistant who answers in short sentences. ", false, false)...)
	}
	a = append(slices.Clone(system), tok.Encode("What is a fox?", false, false)...)
	b = append(slices.Clone(system), tok.Encode("Name three rivers.", false, false)...)
	return a, b
}

type genResult struct {
	ids   []int32
	probs []float32 // logprob of each sampled token
}

func collectLogprobs(t *testing.T, st *Stream) genResult {
	t.Helper()
	var r genResult
	for {
		ev, err := st.Recv(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range ev.Tokens {
			r.ids = append(r.ids, id)
			r.probs = append(r.probs, ev.Logprobs[i].Logprob)
		}
		if ev.Done {
			if ev.Err != nil {
				t.Fatal(ev.Err)
			}
			return r
		}
	}
}

// A request that shares a system prompt with a running one reuses its
// blocks and gets exactly the greedy tokens it gets without reuse. Logprobs
// agree closely but not bit for bit: the quantised matrix kernels group
// activation rows by 4, so a row's rounding depends on the batch's shape,
// which reuse changes (phi3's TestPagedPrefixSharingIdentical checks bit
// identity with batches of the same shape).
func TestSharedPrefixWhileRunningIdentical(t *testing.T) {
	path := testdata.Phi3File(t, "tiny-phi3-q4_k_m.gguf")
	run := func(prefix int) (genResult, genResult, Stats, *Engine) {
		e, err := Load(path, Options{ContextLen: 512, PrefixCache: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		pa, pb := sharedPrompts(e, 150)
		req := func(p []int32, n int) Request {
			return Request{Prompt: p, MaxTokens: n, IgnoreEOS: true, Sampling: sample.Params{Logprobs: true}}
		}
		sa, err := e.Generate(context.Background(), req(pa, 24))
		if err != nil {
			t.Fatal(err)
		}
		first, err := sa.Recv(context.Background()) // a is prefilled and decoding
		if err != nil || first.Done {
			t.Fatalf("first event %+v, %v", first, err)
		}
		sb, err := e.Generate(context.Background(), req(pb, 8))
		if err != nil {
			t.Fatal(err)
		}
		rb := collectLogprobs(t, sb)
		ra := collectLogprobs(t, sa)
		ra.ids = append([]int32{first.Tokens[0]}, ra.ids...)
		ra.probs = append([]float32{first.Logprobs[0].Logprob}, ra.probs...)
		return ra, rb, e.Stats(), e
	}
	wa, wb, wst, _ := run(-1)
	ga, gb, gst, e := run(0)
	same := func(name string, g, w genResult) {
		if !slices.Equal(g.ids, w.ids) {
			t.Fatalf("%s: with reuse %v, without %v", name, g.ids, w.ids)
		}
		for i := range g.probs {
			if d := g.probs[i] - w.probs[i]; d > 1e-3 || d < -1e-3 {
				t.Fatalf("%s: token %d logprob %v with reuse, %v without", name, i, g.probs[i], w.probs[i])
			}
		}
	}
	same("running request", ga, wa)
	same("second request", gb, wb)
	if wst.PrefixHits != 0 || gst.PrefixHits != 1 || gst.PrefixTokens < 144 {
		t.Fatalf("prefix hits %d (%d tokens), without reuse %d", gst.PrefixHits, gst.PrefixTokens, wst.PrefixHits)
	}
	if kv := e.KVStats(); kv.Used != 0 || kv.Reserved != 0 || kv.Cached == 0 {
		t.Fatalf("after both finished: %+v", kv)
	}
}

// Cancelling a running request returns its blocks to the pool.
func TestCancelReturnsKVBlocks(t *testing.T) {
	e, err := Load(testdata.Phi3File(t, "tiny-phi3-q4_k_m.gguf"), Options{ContextLen: 512, KVCacheBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	before := e.KVStats()
	pa, _ := sharedPrompts(e, 100)
	ctx, cancel := context.WithCancel(context.Background())
	st, err := e.Generate(ctx, Request{Prompt: pa, MaxTokens: 300, IgnoreEOS: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(ctx); err != nil {
		t.Fatal(err)
	}
	if kv := e.KVStats(); kv.Used == 0 || kv.Reserved == 0 {
		t.Fatalf("running: %+v", kv)
	}
	cancel()
	if _, final := collect(t, st); final.FinishReason != FinishCancelled {
		t.Fatalf("finish %q", final.FinishReason)
	}
	if kv := e.KVStats(); kv.Used != before.Used || kv.Reserved != before.Reserved {
		t.Fatalf("after cancel: %+v, before %+v", kv, before)
	}
	if st := e.Stats(); st.KVUsedTokens != 0 || st.KVMaxTokens == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// With a small KV budget a request that can never fit is refused, and
// requests that do not fit together wait for each other's blocks.
func TestKVBudgetWaitsAndRefuses(t *testing.T) {
	path := testdata.Phi3File(t, "tiny-phi3-q4_k_m.gguf")
	probe, err := Load(path, Options{ContextLen: 512})
	if err != nil {
		t.Fatal(err)
	}
	bb := probe.KVStats().BlockBytes
	probe.Close()
	e, err := Load(path, Options{ContextLen: 512, KVCacheBytes: 10 * bb}) // 160 positions
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	pa, pb := sharedPrompts(e, 40)
	if _, err := e.Generate(context.Background(), Request{Prompt: pa, MaxTokens: 200}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("request over the budget: %v", err)
	}
	var sts []*Stream
	for _, p := range [][]int32{pa, pb, pa} {
		st, err := e.Generate(context.Background(), Request{Prompt: p, MaxTokens: 96 - len(p), IgnoreEOS: true})
		if err != nil {
			t.Fatal(err)
		}
		sts = append(sts, st)
	}
	for i, st := range sts {
		ids, final := collect(t, st)
		if final.FinishReason != FinishLength || len(ids) != 96-len([][]int32{pa, pb, pa}[i]) {
			t.Fatalf("request %d: %q after %d tokens (%v)", i, final.FinishReason, len(ids), final.Err)
		}
	}
	if kv := e.KVStats(); kv.Used != 0 || kv.Live > 10 {
		t.Fatalf("after: %+v", kv)
	}
}
