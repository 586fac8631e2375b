package phi3

import (
	"bytes"
	"math"
	"testing"

	"maas/internal/engine/gguf"
	"maas/internal/engine/quant"
)

// FuzzNew loads arbitrary GGUF bytes as a model: loading must fail with an
// error or give a model whose forward pass runs without panicking. The
// seeds are small valid models (F32, GQA; Q8_0 with LongRoPE).
func FuzzNew(f *testing.F) {
	tiny := spec{embd: 32, ffn: 32, layers: 1, heads: 4, kvHeads: 2, ropeDims: 8, vocab: 8, ctx: 64, wtype: quant.F32, noRef: true}
	for i, s := range []spec{tiny, func() spec {
		s := tiny
		s.wtype, s.longRoPE, s.origCtx, s.attnFactor = quant.Q8_0, true, 16, 1.1
		return s
	}()} {
		gf, _ := build(f, s, uint64(i))
		var buf bytes.Buffer
		ts := gf.Tensors()
		data := make([][]byte, len(ts))
		for j, ti := range ts {
			data[j], _ = gf.Data(ti)
		}
		if err := gguf.Write(&buf, gf.KVs(), ts, data); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		gf, err := gguf.ParseBytes(b)
		if err != nil {
			return
		}
		m, err := New(gf, Options{Threads: 2, MaxBatch: 2})
		if err != nil {
			return
		}
		defer m.Close()
		c, err := m.NewCache(4)
		if err != nil {
			t.Fatal(err)
		}
		toks := []int32{0, int32(m.Vocab() - 1), 0}
		if _, err := m.Forward(seqBatch(toks, 0, 0, true), []*Cache{c}); err != nil {
			t.Fatalf("forward on a loaded model: %v", err)
		}
	})
}

// TestThreadsDeterministic checks that the thread count does not change a
// single bit of the logits (each output is computed by one worker).
func TestThreadsDeterministic(t *testing.T) {
	s := baseSpec
	s.wtype, s.embd, s.ffn = quant.Q4_0, 128, 256
	f, _ := build(t, s, 3)
	toks := randTokens(11, s.vocab, 4)
	var first []float32
	for _, th := range []int{1, 3} {
		m, err := New(f, Options{Threads: th, MaxBatch: 5})
		if err != nil {
			t.Fatal(err)
		}
		c, _ := m.NewCache(32)
		out, err := m.Forward(seqBatch(toks, 0, 0, true), []*Cache{c})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = append([]float32(nil), out...)
		} else {
			for i := range out {
				if math.Float32bits(out[i]) != math.Float32bits(first[i]) {
					t.Fatalf("threads %d: logit %d = %g, with 1 thread %g", th, i, out[i], first[i])
				}
			}
		}
		m.Close()
	}
}

// TestDecodeAllocs checks that a decode step allocates nothing once the
// scratch buffers and the cache have grown.
func TestDecodeAllocs(t *testing.T) {
	s := baseSpec
	s.wtype = quant.Q8_0
	f, _ := build(t, s, 2)
	m, err := New(f, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c, _ := m.NewCache(64)
	toks := randTokens(8, s.vocab, 5)
	if _, err := m.Forward(seqBatch(toks, 0, 0, true), []*Cache{c}); err != nil {
		t.Fatal(err)
	}
	step := seqBatch(toks[:1], 8, 0, true)
	caches := []*Cache{c}
	allocs := testing.AllocsPerRun(20, func() {
		if err := c.Truncate(8); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Forward(step, caches); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("decode step: %v allocations, want 0", allocs)
	}
}
