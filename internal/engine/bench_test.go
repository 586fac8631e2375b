package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"maas/internal/testdata"
)

// BenchmarkConcurrentStreams measures aggregate generation throughput and
// time to first token with 1..8 concurrent greedy streams on the tiny model.
func BenchmarkConcurrentStreams(b *testing.B) {
	e, err := Load(testdata.Phi3File(b, "tiny-phi3-q4_k_m.gguf"), Options{ContextLen: 256, PrefixCache: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	prompt := e.Tokenizer().Encode("The quick brown fox jumps over the lazy dog", true, false)
	const gen = 32
	for _, n := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) {
			var tokens int
			var ttft time.Duration
			start := time.Now()
			for b.Loop() {
				var wg sync.WaitGroup
				var mu sync.Mutex
				for range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						st, err := e.Generate(context.Background(), Request{Prompt: prompt, MaxTokens: gen, IgnoreEOS: true})
						if err != nil {
							b.Error(err)
							return
						}
						_, ids, final, _ := st.Collect(context.Background())
						mu.Lock()
						tokens += len(ids)
						ttft += final.TimeToFirstToken
						mu.Unlock()
					}()
				}
				wg.Wait()
			}
			el := time.Since(start)
			b.ReportMetric(float64(tokens)/el.Seconds(), "tok/s")
			b.ReportMetric(float64(ttft.Milliseconds())/float64(b.N*n), "ttft_ms")
		})
	}
}

// BenchmarkPrefixTTFT compares the time to first token of a request with a
// 1,000-token shared prompt prefix when the prefix is cached and when not.
func BenchmarkPrefixTTFT(b *testing.B) {
	path := testdata.Phi3File(b, "tiny-phi3-q4_k_m.gguf")
	for _, c := range []struct {
		name   string
		prefix int
	}{{"cold", -1}, {"cached", 4}} {
		b.Run(c.name, func(b *testing.B) {
			e, err := Load(path, Options{ContextLen: 2048, PrefixCache: c.prefix})
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
			ask := func(q string) time.Duration {
				p := append(slices.Clone(system), tok.Encode(q, false, false)...)
				st, err := e.Generate(context.Background(), Request{Prompt: p, MaxTokens: 1})
				if err != nil {
					b.Fatal(err)
				}
				_, _, final, _ := st.Collect(context.Background())
				return final.TimeToFirstToken
			}
			ask("warm up")
			var total time.Duration
			i := 0
			for b.Loop() {
				total += ask(fmt.Sprintf("question %d", i))
				i++
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(i), "ttft_ms")
		})
	}
}
