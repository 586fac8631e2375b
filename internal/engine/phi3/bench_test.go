package phi3

import (
	"testing"

	"maas/internal/engine/quant"
)

// benchSpec is a small model with Phi-3's proportions (head dim 64, GQA
// 3:1, FFN 8/3 of E) so benchmarks run in seconds on two cores.
var benchSpec = spec{embd: 768, ffn: 2048, layers: 4, heads: 12, kvHeads: 4, ropeDims: 64, vocab: 8192,
	ctx: 4096, window: 2047, noRef: true}

// BenchmarkForward measures prefill (64 tokens in one batch) and decode (one
// token after a 64-token prompt) per weight type; tok/s is the metric.
func BenchmarkForward(b *testing.B) {
	for _, wt := range []quant.Type{quant.F16, quant.Q8_0, quant.Q4_K} {
		b.Run(wt.String(), func(b *testing.B) { benchForward(b, wt) })
	}
}

func benchForward(b *testing.B, wt quant.Type) {
	s := benchSpec
	s.wtype = wt
	f, _ := build(b, s, 1)
	m, err := New(f, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	toks := randTokens(64, s.vocab, 1)
	{
		b.Run("prefill64", func(b *testing.B) {
			c, _ := m.NewCache(256)
			last := make([]bool, len(toks))
			last[len(last)-1] = true
			bt := seqBatch(toks, 0, 0, false)
			bt.Logits = last
			for b.Loop() {
				c.Reset()
				if _, err := m.Forward(bt, []*Cache{c}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(toks)*b.N)/b.Elapsed().Seconds(), "tok/s")
		})
		b.Run("decode", func(b *testing.B) {
			c, _ := m.NewCache(256)
			if _, err := m.Forward(seqBatch(toks, 0, 0, false), []*Cache{c}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := c.Truncate(len(toks)); err != nil {
					b.Fatal(err)
				}
				if _, err := m.Forward(seqBatch(toks[:1], len(toks), 0, true), []*Cache{c}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}
