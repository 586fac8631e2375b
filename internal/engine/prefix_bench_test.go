package engine

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"maas/internal/testdata"
)

// BenchmarkSharedPrefixConcurrent measures the time to first token of a
// request whose 1,000-token system prompt is shared with a request that is
// still running (prefilled, now decoding) on the tiny model.
func BenchmarkSharedPrefixConcurrent(b *testing.B) {
	e, err := Load(testdata.Phi3File(b, "tiny-phi3-q4_k_m.gguf"), Options{ContextLen: 2048})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	tok := e.Tokenizer()
	var system []int32
	for len(system) < 1000 {
		system = append(system, tok.Encode("The system prompt says many things about the assistant. ", false, false)...)
	}
	system = append([]int32{tok.BOS()}, system[:999]...)
	prompt := func(q string) []int32 { return append(slices.Clone(system), tok.Encode(q, false, false)...) }
	var total time.Duration
	i := 0
	for b.Loop() {
		// A different system prompt per iteration, so only the running
		// request can supply the prefix.
		system[1] = int32(100 + i%1000)
		ctx, cancel := context.WithCancel(context.Background())
		first, err := e.Generate(ctx, Request{Prompt: prompt(fmt.Sprintf("first %d", i)), MaxTokens: 1000, IgnoreEOS: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := first.Recv(ctx); err != nil { // prefilled, now decoding
			b.Fatal(err)
		}
		st, err := e.Generate(context.Background(), Request{Prompt: prompt(fmt.Sprintf("second %d", i)), MaxTokens: 1})
		if err != nil {
			b.Fatal(err)
		}
		_, _, final, _ := st.Collect(context.Background())
		if final.Err != nil {
			b.Fatal(final.Err)
		}
		total += final.TimeToFirstToken
		cancel()
		_, _, _, _ = first.Collect(context.Background())
		i++
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(i), "ttft_ms")
}
