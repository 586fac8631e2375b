package phi3

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// checkPool verifies the pool's counters against the caches holding blocks.
func checkPool(t *testing.T, p *KVPool, caches []*Cache) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	refs := map[*kvBlock]int{}
	budget := 0
	for _, c := range caches {
		if c == nil {
			continue
		}
		budget += c.budget
		if len(c.blocks) != (c.n+p.bs-1)/p.bs || len(c.toks) != c.n {
			t.Fatalf("cache of %d positions holds %d blocks, %d tokens", c.n, len(c.blocks), len(c.toks))
		}
		for _, b := range c.blocks {
			refs[b]++
		}
	}
	for b, n := range refs {
		if b.refs != n {
			t.Fatalf("block has %d references, caches hold %d", b.refs, n)
		}
	}
	cached := 0
	for b := p.lru.head; b != nil; b = b.next {
		if b.refs != 0 || !b.indexed {
			t.Fatalf("cached block with %d refs, indexed %v", b.refs, b.indexed)
		}
		cached++
	}
	if p.used != len(refs) || p.reserved != budget || p.cached != cached || (p.max > 0 && p.used+p.reserved > p.max) {
		t.Fatalf("pool used %d reserved %d cached %d of %d; caches hold %d blocks, budget %d, lru %d",
			p.used, p.reserved, p.cached, p.max, len(refs), budget, cached)
	}
	for h, b := range p.index {
		if !b.indexed || b.hash != h || len(b.toks) != p.bs {
			t.Fatal("index entry for a block that is not indexed under it")
		}
	}
}

// Random admits, forwards, truncates and releases keep the pool's
// accounting exact, and every cache still computes what a private cache
// computes for its tokens.
func TestPagedRandomOps(t *testing.T) {
	m := newPagedModel(t)
	p, err := m.NewKVPool(KVPoolOptions{BlockSize: 4, Prefix: true, MaxBytes: 12 * 1024, MaxIdleBlocks: 3})
	if err != nil {
		t.Fatal(err)
	}
	V := baseSpec.vocab
	rng := rand.New(rand.NewPCG(7, 8))
	// Prompts from a few shared stems, so prefixes are reused often.
	stems := [][]int32{randTokens(12, V, 30), randTokens(9, V, 31), randTokens(6, V, 32)}
	caches := make([]*Cache, 6)
	var reused, full, compared int
	for step := range 400 {
		i := rng.IntN(len(caches))
		c := caches[i]
		switch op := rng.IntN(4); {
		case c == nil:
			st := stems[rng.IntN(len(stems))]
			prompt := append(slices.Clone(st[:1+rng.IntN(len(st))]), randTokens(1+rng.IntN(5), V, uint64(step))...)
			nc, n, err := p.Admit(64, len(prompt)+rng.IntN(8), prompt)
			if errors.Is(err, ErrKVFull) {
				full++
				break
			}
			if err != nil {
				t.Fatalf("step %d: admit: %v", step, err)
			}
			if n > 0 {
				reused++
			}
			if _, err := m.Forward(seqBatch(prompt[n:], n, 0, false), []*Cache{nc}); err != nil {
				t.Fatalf("step %d: prefill: %v", step, err)
			}
			caches[i] = nc
		case op == 0:
			c.Release()
			caches[i] = nil
		case op == 1:
			if err := c.Truncate(rng.IntN(c.Len() + 1)); err != nil && !errors.Is(err, ErrKVFull) {
				t.Fatalf("step %d: truncate: %v", step, err)
			}
		default:
			_, err := m.Forward(seqBatch([]int32{int32(rng.IntN(V))}, c.Len(), 0, false), []*Cache{c})
			if errors.Is(err, ErrKVFull) {
				full++
			} else if err != nil {
				t.Fatalf("step %d: decode: %v", step, err)
			}
		}
		checkPool(t, p, caches)
	}
	for _, c := range caches {
		if c == nil || c.Len() == 0 || c.Len() >= 63 {
			continue
		}
		toks := slices.Clone(c.toks)
		next := int32(rng.IntN(V))
		got, err := m.Forward(seqBatch([]int32{next}, c.Len(), 0, true), []*Cache{c})
		if errors.Is(err, ErrKVFull) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = slices.Clone(got)
		ref, _ := m.NewCache(64)
		want := run(t, m, ref, append(toks, next))
		if !slices.Equal(got, lastRow(want)) {
			t.Fatalf("cache of %d positions computes other logits than a private cache", len(toks))
		}
		compared++
	}
	if reused < 10 || full == 0 || compared == 0 {
		t.Fatalf("weak run: %d admits reused a prefix, %d waited, %d caches compared", reused, full, compared)
	}
	for i, c := range caches {
		if c != nil {
			c.Release()
			caches[i] = nil
		}
	}
	checkPool(t, p, caches)
	if st := p.Stats(); st.Used != 0 || st.Reserved != 0 {
		t.Fatalf("all released: %+v", st)
	}
}
