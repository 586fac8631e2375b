package sched

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// fakePaged is a PagedModel over fakeModel: a pool of capacity positions,
// each admitted sequence reserving its need, and prefix reuse in steps of 4
// positions from the histories of earlier sequences.
type fakePaged struct {
	*fakeModel
	capacity int
	failOn   int32 // AdmitCache fails for a prompt starting with 1, failOn (0: never)

	pmu    sync.Mutex
	used   int
	peak   int
	admits int
	seen   [][]int32 // prompts admitted before
}

func (p *fakePaged) AdmitCache(ctxLen, need int, prompt []int32) (Cache, int, error) {
	p.pmu.Lock()
	defer p.pmu.Unlock()
	switch {
	case p.failOn != 0 && len(prompt) > 1 && prompt[1] == p.failOn:
		return nil, 0, errors.New("fake admit failure")
	case need > p.capacity:
		return nil, 0, fmt.Errorf("%w: need %d of %d", ErrTooLarge, need, p.capacity)
	case p.used+need > p.capacity:
		return nil, 0, fmt.Errorf("%w: %d used", ErrCacheFull, p.used)
	}
	n := 0
	for _, h := range p.seen {
		n = max(n, commonPrefix(h, prompt[:len(prompt)-1])/4*4)
	}
	c, _ := p.NewCache(ctxLen)
	fc := c.(*fakeCache)
	fc.hist = slices.Clone(prompt[:n])
	fc.release = func() {
		p.pmu.Lock()
		p.used -= need
		p.pmu.Unlock()
	}
	p.used += need
	p.peak = max(p.peak, p.used)
	p.admits++
	p.seen = append(p.seen, slices.Clone(prompt))
	return fc, n, nil
}

func (p *fakePaged) KVUsage() (used, cached, max int) {
	p.pmu.Lock()
	defer p.pmu.Unlock()
	return p.used, 0, p.capacity
}

func newPaged(t *testing.T, capacity int, o Options) (*fakePaged, *Scheduler) {
	t.Helper()
	p := &fakePaged{fakeModel: &fakeModel{vocab: 259 + len(testWords), next: hashNext}, capacity: capacity}
	s, err := New(p, testTokenizer(t), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return p, s
}

func TestPagedWaitsAndReuses(t *testing.T) {
	sys := []int32{1, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49}
	prompts := [][]int32{append(slices.Clone(sys), 60, 61), append(slices.Clone(sys), 70), append(slices.Clone(sys), 80, 81, 82)}
	req := func(p []int32) Request { return Request{Prompt: p, MaxTokens: 10, IgnoreEOS: true} }

	_, alone := newPaged(t, 1000, Options{MaxSeqs: 1, ContextLen: 64, PrefixCache: 4})
	var want [][]int32
	for _, p := range prompts {
		_, ids, _ := run(t, alone, context.Background(), req(p))
		want = append(want, ids)
	}

	// Room for one sequence at a time: the others wait for its release.
	p, s := newPaged(t, 25, Options{MaxSeqs: 4, ContextLen: 64, MaxCacheTokens: 25})
	if _, err := s.Submit(context.Background(), Request{Prompt: sys, MaxTokens: 20}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("request over the budget: %v", err)
	}
	var streams []*Stream
	for _, pr := range prompts {
		st, err := s.Submit(context.Background(), req(pr))
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, st)
	}
	for i, st := range streams {
		_, ids, final, err := st.Collect(context.Background())
		if err != nil || final.FinishReason != FinishLength || !slices.Equal(ids, want[i]) {
			t.Fatalf("prompt %d: %v %+v, want %v", i, ids, final, want[i])
		}
	}
	st := s.Stats()
	if p.peak > 25 || st.PrefixHits != 2 || st.PrefixTokens != 16 || st.KVUsedTokens != 0 || st.KVMaxTokens != 25 {
		t.Fatalf("peak %d, stats %+v", p.peak, st)
	}
	if p.live != 0 {
		t.Fatalf("%d caches not released", p.live)
	}
}

func TestPagedAdmitErrors(t *testing.T) {
	p, s := newPaged(t, 50, Options{ContextLen: 64})
	p.failOn = 50
	_, _, final := run(t, s, context.Background(), Request{Prompt: []int32{1, 50, 51}, MaxTokens: 3})
	if final.FinishReason != FinishError || final.Err == nil {
		t.Fatalf("failed admit: %+v", final)
	}
	// Without MaxCacheTokens, Submit accepts what the pool can never hold;
	// the pool's ErrTooLarge fails the request instead of waiting forever.
	_, _, final = run(t, s, context.Background(), Request{Prompt: []int32{1, 60}, MaxTokens: 60})
	if !errors.Is(final.Err, ErrTooLarge) {
		t.Fatalf("too large: %+v", final)
	}
	_, ids, final := run(t, s, context.Background(), Request{Prompt: []int32{1, 60}, MaxTokens: 5, IgnoreEOS: true})
	if len(ids) != 5 || final.FinishReason != FinishLength {
		t.Fatalf("after errors: %v %+v", ids, final)
	}
}
