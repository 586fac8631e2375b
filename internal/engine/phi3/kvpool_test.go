package phi3

import (
	"errors"
	"slices"
	"testing"

	"maas/internal/engine/quant"
)

func newPagedModel(t *testing.T) *Model {
	t.Helper()
	return newPagedModelSpec(t, baseSpec)
}

func newPagedModelSpec(t *testing.T, sp spec) *Model {
	t.Helper()
	f, _ := build(t, sp, 21)
	m, err := New(f, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// run feeds toks to c from its current length and returns a copy of the
// logits of every row.
func run(t *testing.T, m *Model, c *Cache, toks []int32) []float32 {
	t.Helper()
	out, err := m.Forward(seqBatch(toks, c.Len(), 0, true), []*Cache{c})
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clone(out)
}

// greedy decodes n tokens after logits row last and returns them with the
// logits of every step.
func greedy(t *testing.T, m *Model, c *Cache, last []float32, n int) ([]int32, []float32) {
	t.Helper()
	var ids []int32
	var all []float32
	for range n {
		id := argmax(last)
		ids = append(ids, id)
		last = run(t, m, c, []int32{id})
		all = append(all, last...)
	}
	return ids, all
}

func lastRow(x []float32) []float32 { return x[len(x)-baseSpec.vocab:] }

// Logits and greedy tokens are bit-identical with and without shared
// blocks: products with two or more activation rows round each row alike
// whatever the batch (kernels.TestMatMulRowIndependentOfBatch).
func TestPagedPrefixSharingIdentical(t *testing.T) {
	q4k := baseSpec
	q4k.wtype, q4k.embd, q4k.ffn, q4k.heads, q4k.kvHeads, q4k.ropeDims = quant.Q4_K, 256, 256, 8, 4, 32
	for _, sp := range []spec{baseSpec, q4k} {
		t.Run(sp.wtype.String(), func(t *testing.T) { testPagedSharing(t, sp) })
	}
}

func testPagedSharing(t *testing.T, sp spec) {
	m := newPagedModelSpec(t, sp)
	p, err := m.NewKVPool(KVPoolOptions{BlockSize: 8, Prefix: true})
	if err != nil {
		t.Fatal(err)
	}
	V := baseSpec.vocab
	a := randTokens(24, V, 1)
	b := append(slices.Clone(a[:20]), randTokens(8, V, 2)...) // shares 2 full blocks and half of one with a

	// Reference: b alone in a private cache.
	ref, _ := m.NewCache(64)
	wantPrompt := run(t, m, ref, b)
	wantIDs, wantSteps := greedy(t, m, ref, lastRow(wantPrompt), 6)

	ca, n, err := p.Admit(64, 40, a)
	if err != nil || n != 0 {
		t.Fatalf("admit a: n=%d err=%v", n, err)
	}
	run(t, m, ca, a)
	used := p.Stats().Used
	// b joins while a is still running and reuses a's first 4 blocks.
	cb, n, err := p.Admit(64, 40, b)
	if err != nil {
		t.Fatal(err)
	}
	if n != 20 || cb.Len() != 20 {
		t.Fatalf("b reused %d positions (len %d), want 20", n, cb.Len())
	}
	if st := p.Stats(); st.Used != used+1 {
		t.Fatalf("sharing took %d new blocks, want 1 (the copied partial block)", st.Used-used)
	}
	got := run(t, m, cb, b[n:])
	if !slices.Equal(lastRow(got), lastRow(wantPrompt)) || !slices.Equal(got, wantPrompt[n*V:]) {
		t.Fatal("prompt logits with shared blocks differ from a private cache")
	}
	ids, steps := greedy(t, m, cb, lastRow(got), 6)
	if !slices.Equal(ids, wantIDs) || !slices.Equal(steps, wantSteps) {
		t.Fatalf("greedy with shared blocks %v, alone %v (or logits differ)", ids, wantIDs)
	}
	// a keeps decoding on the shared blocks, unaffected.
	refA, _ := m.NewCache(64)
	wa := run(t, m, refA, a)
	wIDs, _ := greedy(t, m, refA, lastRow(wa), 4)
	if gIDs, _ := greedy(t, m, ca, lastRow(wa), 4); !slices.Equal(gIDs, wIDs) {
		t.Fatalf("a after sharing %v, want %v", gIDs, wIDs)
	}
}

func TestPagedReleaseRestoresUsage(t *testing.T) {
	m := newPagedModel(t)
	p, _ := m.NewKVPool(KVPoolOptions{BlockSize: 4, Prefix: true, MaxBytes: 64 * 2 * 4 * 2 * 4 * 16})
	V := baseSpec.vocab
	keep, _, err := p.Admit(64, 12, randTokens(9, V, 3))
	if err != nil {
		t.Fatal(err)
	}
	before := p.Stats()
	prompt := randTokens(20, V, 4)
	c1, _, err := p.Admit(64, 30, prompt)
	if err != nil {
		t.Fatal(err)
	}
	run(t, m, c1, prompt)
	c2, n, err := p.Admit(64, 30, prompt) // shares c1's blocks, copies 3 rows of the fifth
	if err != nil || n != 19 {
		t.Fatalf("second admit: n=%d err=%v", n, err)
	}
	run(t, m, c2, prompt[n:])
	if st := p.Stats(); st.Used <= before.Used || st.Reserved == before.Reserved {
		t.Fatalf("running: %+v, before %+v", st, before)
	}
	c1.Release()
	c2.Release()
	c2.Release() // twice is harmless
	after := p.Stats()
	if after.Used != before.Used || after.Reserved != before.Reserved {
		t.Fatalf("after release: %+v, before %+v", after, before)
	}
	if after.Cached != 5 { // the 20 prompt positions (5 full blocks) stay cached
		t.Fatalf("cached blocks %d, want 5", after.Cached)
	}
	if _, err := m.Forward(seqBatch(prompt[:1], 0, 0, true), []*Cache{c1}); err == nil {
		t.Fatal("forward on a released cache succeeded")
	}
	keep.Release()
	if st := p.Stats(); st.Used != 0 || st.Reserved != 0 {
		t.Fatalf("empty pool: %+v", st)
	}
}

func TestPagedBudget(t *testing.T) {
	m := newPagedModel(t)
	// Block: 2 layers * (K+V) * 4 positions * kvd 16 floats * 4 bytes = 1024 bytes.
	p, err := m.NewKVPool(KVPoolOptions{BlockSize: 4, Prefix: true, MaxBytes: 8*1024 + 100})
	if err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Max != 8 || st.BlockBytes != 1024 {
		t.Fatalf("pool %+v, want 8 blocks of 1024 bytes", st)
	}
	if _, err := m.NewKVPool(KVPoolOptions{BlockSize: 4, MaxBytes: 1000}); err == nil {
		t.Fatal("pool smaller than a block accepted")
	}
	V := baseSpec.vocab
	if _, _, err := p.Admit(64, 33, randTokens(5, V, 5)); !errors.Is(err, ErrKVTooLarge) {
		t.Fatalf("9 blocks in a pool of 8: %v", err)
	}
	pa := randTokens(16, V, 6)
	a, _, err := p.Admit(64, 24, pa) // 6 blocks
	if err != nil {
		t.Fatal(err)
	}
	run(t, m, a, pa)
	if _, _, err := p.Admit(64, 12, randTokens(5, V, 7)); !errors.Is(err, ErrKVFull) {
		t.Fatalf("3 blocks with 2 left: %v", err)
	}
	a.Release() // 4 full prompt blocks stay cached
	if st := p.Stats(); st.Cached != 4 || st.Used != 0 {
		t.Fatalf("after release: %+v", st)
	}
	// 8 fresh blocks: the cached ones are evicted, least recently used first.
	pb := randTokens(32, V, 8)
	b, n, err := p.Admit(64, 32, pb)
	if err != nil || n != 0 {
		t.Fatalf("admit b: n=%d err=%v", n, err)
	}
	run(t, m, b, pb)
	if st := p.Stats(); st.Cached != 0 || st.Used != 8 || st.Live != 8 {
		t.Fatalf("after eviction: %+v", st)
	}
	b.Release()
	c, n, err := p.Admit(64, 20, pa)
	if err != nil || n != 0 {
		t.Fatalf("evicted prefix reused: n=%d err=%v", n, err)
	}
	c.Release()
	// An unreserved cache fails cleanly when the pool is full, and the
	// batch leaves every cache as it was.
	full, _, _ := p.Admit(64, 28, randTokens(5, V, 9)) // 7 blocks reserved
	x, _ := p.NewCache(64)
	y, _ := p.NewCache(64)
	bt := Batch{Tokens: []int32{1, 2, 3, 4, 5}, Pos: []int32{0, 1, 2, 0, 1}, Seq: []int{0, 0, 0, 1, 1}}
	if _, err := m.Forward(bt, []*Cache{y, x}); !errors.Is(err, ErrKVFull) {
		t.Fatalf("forward past the budget: %v", err)
	}
	if x.Len() != 0 || y.Len() != 0 || len(y.blocks) != 0 || p.Stats().Used != 0 {
		t.Fatalf("failed forward changed caches: %d %d, %+v", x.Len(), y.Len(), p.Stats())
	}
	full.Release()
	if _, err := m.Forward(bt, []*Cache{y, x}); err != nil {
		t.Fatal(err)
	}
}

func TestPagedTruncateCopiesSharedBlock(t *testing.T) {
	m := newPagedModel(t)
	p, _ := m.NewKVPool(KVPoolOptions{BlockSize: 4, Prefix: true})
	V := baseSpec.vocab
	a := randTokens(13, V, 10)
	ca, _, _ := p.Admit(64, 20, a)
	want := run(t, m, ca, a)
	cb, n, _ := p.Admit(64, 20, a)
	if n != 12 {
		t.Fatalf("reused %d, want 12", n)
	}
	// Rewrite positions 6.. of b with other tokens: block 1 is shared.
	if err := cb.Truncate(6); err != nil {
		t.Fatal(err)
	}
	other := randTokens(5, V, 11)
	got := run(t, m, cb, other)
	ref, _ := m.NewCache(64)
	wantB := run(t, m, ref, append(slices.Clone(a[:6]), other...))
	if !slices.Equal(got, wantB[6*V:]) {
		t.Fatal("after copy-on-write truncate, logits differ from a private cache")
	}
	// a's blocks are untouched: a fresh sequence reusing them matches a.
	cc, n, _ := p.Admit(64, 20, a)
	if got := run(t, m, cc, a[n:]); !slices.Equal(got, want[n*V:]) {
		t.Fatal("shared block changed by another sequence's truncate")
	}
}

func TestPagedBadArgs(t *testing.T) {
	m := newPagedModel(t)
	if _, err := m.NewKVPool(KVPoolOptions{BlockSize: -1}); err == nil {
		t.Fatal("negative block size accepted")
	}
	p, _ := m.NewKVPool(KVPoolOptions{})
	if p.BlockSize() != DefaultBlockSize {
		t.Fatalf("block size %d", p.BlockSize())
	}
	if _, _, err := p.Admit(16, 4, make([]int32, 5)); err == nil {
		t.Fatal("need below the prompt accepted")
	}
	if _, _, err := p.Admit(16, 17, make([]int32, 5)); err == nil {
		t.Fatal("need above the context accepted")
	}
}

func TestChainHashCollisionNeverMatches(t *testing.T) {
	m := newPagedModel(t)
	p, _ := m.NewKVPool(KVPoolOptions{BlockSize: 4, Prefix: true})
	a := []int32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	ca, _, _ := p.Admit(64, 12, a)
	run(t, m, ca, a)
	// Forge an index entry under the hash of other tokens: lookup checks
	// the tokens and finds nothing.
	b := []int32{9, 9, 9, 9, 1, 1, 1, 1, 1}
	p.mu.Lock()
	p.index[chainHash(seedHash(ca.long), b[:4])] = ca.blocks[0]
	p.mu.Unlock()
	if _, n, _ := p.Admit(64, 12, b); n != 0 {
		t.Fatalf("forged entry matched %d positions", n)
	}
}

// The partly filled last block of a finished sequence is copied, not
// recomputed, by a later prompt that continues it.
func TestPagedTailReuse(t *testing.T) {
	m := newPagedModel(t)
	p, _ := m.NewKVPool(KVPoolOptions{BlockSize: 4, Prefix: true, MaxIdleBlocks: 4})
	V := baseSpec.vocab
	a := randTokens(14, V, 12)
	ca, _, _ := p.Admit(64, 20, a)
	run(t, m, ca, a)
	ca.Release()
	b := append(slices.Clone(a), randTokens(3, V, 13)...)
	cb, n, err := p.Admit(64, 20, b)
	if err != nil || n != 14 {
		t.Fatalf("reused %d positions (%v), want 14", n, err)
	}
	ref, _ := m.NewCache(64)
	want := run(t, m, ref, b)
	if got := run(t, m, cb, b[n:]); !slices.Equal(got, want[n*V:]) {
		t.Fatal("logits after a copied tail differ from a private cache")
	}
	cb.Release()
	// Unbounded: at most MaxIdleBlocks unreferenced blocks stay.
	if st := p.Stats(); st.Used != 0 || st.Reserved != 0 || st.Cached != 4 || st.Live-st.Cached > 4 {
		t.Fatalf("after release: %+v", st)
	}
}
