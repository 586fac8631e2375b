package phi3

import (
	"testing"

	"maas/internal/engine/quant"
)

// BenchmarkDecodeLongContext measures one decode step after 1,536 cached
// positions, where attention (reading K/V block by block) is a large share
// of the step; tok/s is the metric.
func BenchmarkDecodeLongContext(b *testing.B) {
	s := benchSpec
	s.wtype = quant.Q8_0
	f, _ := build(b, s, 1)
	m, err := New(f, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	const n = 1536
	toks := randTokens(n, s.vocab, 1)
	c, _ := m.NewCache(2048)
	if _, err := m.Forward(seqBatch(toks, 0, 0, false), []*Cache{c}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := c.Truncate(n); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Forward(seqBatch(toks[:1], n, 0, true), []*Cache{c}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
}
