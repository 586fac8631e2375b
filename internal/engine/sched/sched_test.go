package sched

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"maas/internal/engine/sample"
	"maas/internal/engine/tokenizer"
)

// testVocab: 0 <unk>, 1 <s>, 2 </s> (EOS), 3..258 bytes, then words.
var testWords = []string{"\u2581hello", "\u2581world", "!", "\u2581END", "\u2581stop", "x"}

func testTokenizer(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	m := tokenizer.Meta{Tokens: []string{"<unk>", "<s>", "</s>"}, Types: []int32{3, 3, 3},
		BOS: 1, EOS: 2, UNK: 0, PAD: -1, EOT: -1, EOM: -1, AddBOS: true, AddSpacePrefix: true}
	for b := 0; b < 256; b++ {
		m.Tokens = append(m.Tokens, fmt.Sprintf("<0x%02X>", b))
		m.Types = append(m.Types, tokenizer.TypeByte)
	}
	for _, w := range testWords {
		m.Tokens = append(m.Tokens, w)
		m.Types = append(m.Types, tokenizer.TypeNormal)
	}
	tok, err := tokenizer.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func word(i int) int32 { return int32(259 + i) }

// fakeModel gives each row logits with a peak at next(history), where the
// history is every token of the sequence up to and including the row.
type fakeModel struct {
	vocab int
	next  func(hist []int32) int32

	mu      sync.Mutex
	live    int       // caches not yet released
	steps   [][]int   // sequences (cache ids) in each step
	gate    chan bool // when set, Forward waits for a value first
	entered chan bool // when set, Forward signals entry
	failTok int32     // a row with this token fails the step (0 = never)
	panicOn int32     // a row with this token panics (0 = never)
	nextID  int
	order   []int32 // token at position 1 of each sequence, in order seen
}

type fakeCache struct {
	m       *fakeModel
	id      int
	max     int
	hist    []int32
	release func() // extra work of Release, or nil
}

func (c *fakeCache) Truncate(n int) error {
	if n < 0 || n > len(c.hist) {
		return fmt.Errorf("truncate to %d of %d", n, len(c.hist))
	}
	c.hist = c.hist[:n]
	return nil
}

func (c *fakeCache) Release() {
	c.m.mu.Lock()
	c.m.live--
	c.m.mu.Unlock()
	if c.release != nil {
		c.release()
	}
}

func (m *fakeModel) VocabSize() int { return m.vocab }

func (m *fakeModel) NewCache(n int) (Cache, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.live++
	m.nextID++
	return &fakeCache{m: m, id: m.nextID, max: n}, nil
}

func (m *fakeModel) Forward(b *Batch, caches []Cache, out []float32) error {
	if m.entered != nil {
		m.entered <- true
	}
	if m.gate != nil {
		<-m.gate
	}
	// Check every row before changing any cache, as phi3 does.
	grow := map[*fakeCache]int{}
	for i, tok := range b.Tokens {
		c := caches[b.Seq[i]].(*fakeCache)
		if tok == m.failTok && m.failTok != 0 {
			return errors.New("fake failure")
		}
		if tok == m.panicOn && m.panicOn != 0 {
			panic("fake panic")
		}
		if p := len(c.hist) + grow[c]; int(b.Pos[i]) != p || p >= c.max {
			return fmt.Errorf("row %d: position %d, cache holds %d of %d", i, b.Pos[i], p, c.max)
		}
		grow[c]++
	}
	var ids []int
	row := 0
	for i, tok := range b.Tokens {
		c := caches[b.Seq[i]].(*fakeCache)
		c.hist = append(c.hist, tok)
		if b.Pos[i] == 1 {
			m.order = append(m.order, tok)
		}
		if !slices.Contains(ids, c.id) {
			ids = append(ids, c.id)
		}
		if b.Logits[i] {
			r := out[row*m.vocab : (row+1)*m.vocab]
			for j := range r {
				r[j] = float32((j*7 + len(c.hist)) % 5) // noise below the peak
			}
			r[m.next(c.hist)] = 10
			row++
		}
	}
	m.mu.Lock()
	m.steps = append(m.steps, ids)
	m.mu.Unlock()
	return nil
}

// hashNext picks a word or byte token from the whole history (never EOS).
func hashNext(h []int32) int32 {
	var x uint32 = 2166136261
	for _, t := range h {
		x = (x ^ uint32(t)) * 16777619
	}
	return 3 + int32(x%uint32(256+len(testWords)))
}

func newSched(t *testing.T, m *fakeModel, o Options) *Scheduler {
	t.Helper()
	s, err := New(m, testTokenizer(t), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func run(t *testing.T, s *Scheduler, ctx context.Context, r Request) (string, []int32, Event) {
	t.Helper()
	st, err := s.Submit(ctx, r)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	tctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	text, ids, final, err := st.Collect(tctx)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return text, ids, final
}

func TestBatchedEqualsAlone(t *testing.T) {
	prompts := [][]int32{
		{1, word(0)}, {1, word(1), word(2), 40, 41, 42, 43, 44}, {1, 50}, {1, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71}, {1, word(5), word(5)},
	}
	req := func(p []int32) Request { return Request{Prompt: p, MaxTokens: 12, IgnoreEOS: true} }
	vocab := 259 + len(testWords)

	alone := make([][]int32, len(prompts))
	aloneText := make([]string, len(prompts))
	m1 := &fakeModel{vocab: vocab, next: hashNext}
	s1 := newSched(t, m1, Options{MaxSeqs: 1, ContextLen: 64})
	for i, p := range prompts {
		aloneText[i], alone[i], _ = run(t, s1, context.Background(), req(p))
		if len(alone[i]) != 12 {
			t.Fatalf("prompt %d: %d tokens", i, len(alone[i]))
		}
	}

	m := &fakeModel{vocab: vocab, next: hashNext, gate: make(chan bool), entered: make(chan bool)}
	s := newSched(t, m, Options{MaxSeqs: 8, ChunkSize: 3, MaxBatch: 10, ContextLen: 64})
	// Hold the first step so that every request is queued before it runs.
	var streams []*Stream
	for _, p := range prompts {
		st, err := s.Submit(context.Background(), req(p))
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, st)
	}
	go func() {
		for range m.entered {
			m.gate <- true
		}
	}()
	for i, st := range streams {
		text, ids, final, err := st.Collect(context.Background())
		if err != nil || final.FinishReason != FinishLength {
			t.Fatalf("prompt %d: err %v final %+v", i, err, final)
		}
		if !slices.Equal(ids, alone[i]) || text != aloneText[i] {
			t.Errorf("prompt %d: batched %v %q, alone %v %q", i, ids, text, alone[i], aloneText[i])
		}
		if final.PromptTokens != len(prompts[i]) || final.CompletionTokens != 12 {
			t.Errorf("prompt %d: usage %d+%d", i, final.PromptTokens, final.CompletionTokens)
		}
	}
	s.Close()
	close(m.entered)
	most := 0
	for _, st := range m.steps {
		most = max(most, len(st))
	}
	if most < len(prompts) {
		t.Errorf("at most %d sequences shared a step; want all %d", most, len(prompts))
	}
	if m.live != 0 || m1.live != 0 {
		t.Errorf("caches not released: %d, %d", m.live, m1.live)
	}
}

func TestCancelFreesCache(t *testing.T) {
	m := &fakeModel{vocab: 259 + len(testWords), next: hashNext}
	s := newSched(t, m, Options{ContextLen: 1 << 20})
	ctx, cancel := context.WithCancel(context.Background())
	st, err := s.Submit(ctx, Request{Prompt: []int32{1, 5}, IgnoreEOS: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, ids, final, err := st.Collect(context.Background())
	if err != nil || final.FinishReason != FinishCancelled {
		t.Fatalf("final %+v err %v", final, err)
	}
	if len(ids) > 100 {
		t.Logf("%d tokens after cancel", len(ids))
	}
	waitFor(t, func() bool { m.mu.Lock(); defer m.mu.Unlock(); return m.live == 0 })
	waitFor(t, func() bool { return s.Stats().Active == 0 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 2000; i++ {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("condition not reached in 10 s")
}

func TestQueueLimit(t *testing.T) {
	m := &fakeModel{vocab: 259 + len(testWords), next: hashNext, gate: make(chan bool), entered: make(chan bool, 100)}
	s := newSched(t, m, Options{MaxSeqs: 1, MaxQueue: 2, ContextLen: 64})
	r := Request{Prompt: []int32{1, 5}, MaxTokens: 2, IgnoreEOS: true}
	var streams []*Stream
	st, err := s.Submit(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	streams = append(streams, st)
	<-m.entered // the first request is running; the loop is inside Forward
	ctx, cancel := context.WithCancel(context.Background())
	for i := range 2 {
		c := context.Background()
		if i == 0 {
			c = ctx
		}
		st, err := s.Submit(c, r)
		if err != nil {
			t.Fatalf("queued submit: %v", err)
		}
		if i > 0 {
			streams = append(streams, st)
		}
	}
	if _, err := s.Submit(context.Background(), r); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("4th submit: %v, want ErrQueueFull", err)
	}
	if st := s.Stats(); st.Queued != 2 {
		t.Errorf("Stats.Queued = %d", st.Queued)
	}
	// A cancelled waiting request leaves the queue after the current step.
	cancel()
	m.gate <- true
	waitFor(t, func() bool { return s.Stats().Queued == 1 })
	st, err = s.Submit(context.Background(), r)
	if err != nil {
		t.Fatalf("submit after a cancelled request left the queue: %v", err)
	}
	streams = append(streams, st)
	go func() {
		for range 100 {
			m.gate <- true
		}
	}()
	for _, st := range streams {
		if _, _, f, err := st.Collect(context.Background()); err != nil || f.FinishReason != FinishLength {
			t.Fatalf("final %+v err %v", f, err)
		}
	}
}

func TestFailuresDoNotStopTheLoop(t *testing.T) {
	m := &fakeModel{vocab: 259 + len(testWords), next: hashNext, failTok: 200, panicOn: 201}
	s := newSched(t, m, Options{ContextLen: 64})
	for _, tok := range []int32{200, 201} {
		_, _, f := run(t, s, context.Background(), Request{Prompt: []int32{1, tok}, MaxTokens: 3})
		if f.FinishReason != FinishError || f.Err == nil {
			t.Fatalf("token %d: final %+v", tok, f)
		}
	}
	_, ids, f := run(t, s, context.Background(), Request{Prompt: []int32{1, 7}, MaxTokens: 3, IgnoreEOS: true})
	if f.FinishReason != FinishLength || len(ids) != 3 {
		t.Fatalf("after failures: final %+v ids %v", f, ids)
	}
	if m.live != 0 {
		t.Errorf("%d caches leaked", m.live)
	}
	if st := s.Stats(); st.Failures != 2 {
		t.Errorf("Stats.Failures = %d", st.Failures)
	}
}

// A failure in a shared step fails only the sequence that caused it.
func TestFailureIsolatedInBatch(t *testing.T) {
	vocab := 259 + len(testWords)
	m := &fakeModel{vocab: vocab, next: hashNext, failTok: 200, gate: make(chan bool), entered: make(chan bool, 100)}
	s := newSched(t, m, Options{ContextLen: 64})
	first, _ := s.Submit(context.Background(), Request{Prompt: []int32{1, 7}, MaxTokens: 5, IgnoreEOS: true})
	<-m.entered
	bad, _ := s.Submit(context.Background(), Request{Prompt: []int32{1, 200}, MaxTokens: 5})
	good, _ := s.Submit(context.Background(), Request{Prompt: []int32{1, 8}, MaxTokens: 5, IgnoreEOS: true})
	go func() {
		for range 100 {
			m.gate <- true
		}
	}()
	ref := newSched(t, &fakeModel{vocab: vocab, next: hashNext}, Options{ContextLen: 64})
	for _, c := range []struct {
		st     *Stream
		prompt []int32
	}{{first, []int32{1, 7}}, {good, []int32{1, 8}}} {
		_, ids, f, _ := c.st.Collect(context.Background())
		_, want, _ := run(t, ref, context.Background(), Request{Prompt: c.prompt, MaxTokens: 5, IgnoreEOS: true})
		if f.FinishReason != FinishLength || !slices.Equal(ids, want) {
			t.Errorf("prompt %v: %v %+v, want %v", c.prompt, ids, f, want)
		}
	}
	if _, _, f, _ := bad.Collect(context.Background()); f.FinishReason != FinishError {
		t.Errorf("failing request: %+v", f)
	}
}

// script makes the model emit toks after a prompt of n tokens, then EOS.
func script(n int, toks ...int32) func([]int32) int32 {
	return func(h []int32) int32 {
		i := len(h) - n
		if i < len(toks) {
			return toks[i]
		}
		return 2
	}
}

func TestFinishReasons(t *testing.T) {
	hello, world, bang, end := word(0), word(1), word(2), word(3)
	vocab := 259 + len(testWords)
	prompt := []int32{1, 50}
	for _, c := range []struct {
		name   string
		toks   []int32
		req    Request
		ctx    int
		text   string
		reason string
		n      int
	}{
		{"eos", []int32{hello, world}, Request{}, 64, " hello world", FinishStop, 3},
		{"eos trimmed", []int32{hello, world}, Request{TrimLeadingSpace: true}, 64, "hello world", FinishStop, 3},
		{"max tokens", []int32{hello, world, bang}, Request{MaxTokens: 2}, 64, " hello world", FinishLength, 2},
		{"context", []int32{hello, world, bang, bang, bang}, Request{}, 5, " hello world!!", FinishLength, 4},
		{"stop string across tokens", []int32{hello, world, end, bang}, Request{Stop: []string{"d EN"}}, 64, " hello worl", FinishStop, 3},
		{"ignore eos", []int32{hello}, Request{IgnoreEOS: true, MaxTokens: 3}, 64, " hello", FinishLength, 3},
		// 🦙 = F0 9F A6 99 as byte tokens: emitted whole.
		{"utf8", []int32{3 + 0xF0, 3 + 0x9F, 3 + 0xA6, 3 + 0x99}, Request{}, 64, "🦙", FinishStop, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := &fakeModel{vocab: vocab, next: script(len(prompt), c.toks...)}
			s := newSched(t, m, Options{ContextLen: c.ctx})
			r := c.req
			r.Prompt = prompt
			st, err := s.Submit(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			var final Event
			for {
				e, err := st.Recv(context.Background())
				if err != nil {
					break
				}
				if strings.Contains(e.Text, "\uFFFD") {
					t.Errorf("event with broken UTF-8: %q", e.Text)
				}
				text.WriteString(e.Text)
				final = e
			}
			if text.String() != c.text || final.FinishReason != c.reason || final.CompletionTokens != c.n {
				t.Fatalf("got %q %s %d tokens, want %q %s %d", text.String(), final.FinishReason, final.CompletionTokens, c.text, c.reason, c.n)
			}
		})
	}
}

func TestLogprobsAndSeed(t *testing.T) {
	vocab := 259 + len(testWords)
	m := &fakeModel{vocab: vocab, next: hashNext}
	s := newSched(t, m, Options{ContextLen: 64})
	r := Request{Prompt: []int32{1, 9}, MaxTokens: 8, IgnoreEOS: true,
		Sampling: sample.Params{Temperature: 5, Seed: 3, Logprobs: true, TopLogprobs: 2}}
	st, _ := s.Submit(context.Background(), r)
	var a []int32
	for {
		e, err := st.Recv(context.Background())
		if err != nil {
			break
		}
		for i, id := range e.Tokens {
			if len(e.Logprobs) != len(e.Tokens) || e.Logprobs[i].ID != id || len(e.Logprobs[i].Top) != 2 || e.Logprobs[i].Logprob > 0 {
				t.Fatalf("bad logprobs %+v", e.Logprobs)
			}
		}
		a = append(a, e.Tokens...)
	}
	_, b, _ := run(t, s, context.Background(), r)
	if !slices.Equal(a, b) {
		t.Fatalf("same seed gave %v and %v", a, b)
	}
}

func TestSubmitValidation(t *testing.T) {
	m := &fakeModel{vocab: 259 + len(testWords), next: hashNext}
	s := newSched(t, m, Options{ContextLen: 4})
	for name, r := range map[string]Request{
		"empty":      {},
		"too long":   {Prompt: []int32{1, 2, 3, 4}},
		"bad token":  {Prompt: []int32{1, 9999}},
		"bad sample": {Prompt: []int32{1}, Sampling: sample.Params{TopP: 2}},
		"neg max":    {Prompt: []int32{1}, MaxTokens: -1},
	} {
		if _, err := s.Submit(context.Background(), r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	s.Close()
	if _, err := s.Submit(context.Background(), Request{Prompt: []int32{1}}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestFairness(t *testing.T) {
	m := &fakeModel{vocab: 259 + len(testWords), next: hashNext, gate: make(chan bool), entered: make(chan bool, 100)}
	s := newSched(t, m, Options{MaxSeqs: 2, ContextLen: 64})
	r := func(tok int32) Request {
		return Request{Prompt: []int32{1, tok}, MaxTokens: 4, IgnoreEOS: true, Tenant: fmt.Sprint(tok)}
	}
	var streams []*Stream
	st, _ := s.Submit(context.Background(), r(5))
	streams = append(streams, st)
	<-m.entered // tenant 5 runs; the rest queue up behind it
	for _, tok := range []int32{5, 5, 5, 77} {
		st, err := s.Submit(context.Background(), r(tok))
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, st)
	}
	go func() {
		for range 100 {
			m.gate <- true
		}
	}()
	for _, st := range streams {
		st.Collect(context.Background())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if want := []int32{5, 77, 5, 5, 5}; !slices.Equal(m.order, want) {
		t.Fatalf("admission order %v, want %v (the idle tenant first)", m.order, want)
	}
}

func TestPrefixReuse(t *testing.T) {
	vocab := 259 + len(testWords)
	system := make([]int32, 40)
	for i := range system {
		system[i] = int32(10 + i)
	}
	prompt := func(tail ...int32) []int32 { return append(slices.Clone(system), tail...) }
	req := func(p []int32) Request { return Request{Prompt: p, MaxTokens: 6, IgnoreEOS: true} }

	plain := &fakeModel{vocab: vocab, next: hashNext}
	s0 := newSched(t, plain, Options{ContextLen: 128})
	m := &fakeModel{vocab: vocab, next: hashNext}
	s := newSched(t, m, Options{ContextLen: 128, PrefixCache: 2})
	for i, p := range [][]int32{prompt(1, 2), prompt(3), prompt(3), system[:20], prompt(1, 2, 4)} {
		_, want, _ := run(t, s0, context.Background(), req(p))
		_, got, _ := run(t, s, context.Background(), req(p))
		if !slices.Equal(got, want) {
			t.Fatalf("request %d: with prefix reuse %v, without %v", i, got, want)
		}
	}
	st := s.Stats()
	if st.PrefixHits != 4 || st.PrefixTokens < 4*19 {
		t.Fatalf("prefix hits %d, tokens %d", st.PrefixHits, st.PrefixTokens)
	}
	// A repeated prompt recomputes only its last token.
	if st.PrefixTokens != 40+40+19+20 {
		t.Errorf("prefix tokens %d, want %d", st.PrefixTokens, 40+40+19+20)
	}
	s.Close()
	if m.live != 0 {
		t.Errorf("%d caches not released after Close", m.live)
	}

	// Kept positions are bounded: a 10-position bound keeps nothing here.
	small := newSched(t, &fakeModel{vocab: vocab, next: hashNext}, Options{ContextLen: 128, PrefixCache: 2, MaxKeptTokens: 10})
	for range 2 {
		run(t, small, context.Background(), req(prompt(1)))
	}
	if st := small.Stats(); st.PrefixHits != 0 || st.KeptTokens != 0 {
		t.Errorf("with a 10-position bound: %d hits, %d kept positions", st.PrefixHits, st.KeptTokens)
	}
}

func TestCacheBudget(t *testing.T) {
	m := &fakeModel{vocab: 259 + len(testWords), next: hashNext, gate: make(chan bool), entered: make(chan bool, 100)}
	s := newSched(t, m, Options{ContextLen: 64, MaxCacheTokens: 20})
	if _, err := s.Submit(context.Background(), Request{Prompt: []int32{1, 2}}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("request needing the whole context: %v", err)
	}
	r := Request{Prompt: []int32{1, 2, 3, 4, 5}, MaxTokens: 7, IgnoreEOS: true} // 12 positions
	a, _ := s.Submit(context.Background(), r)
	<-m.entered
	b, _ := s.Submit(context.Background(), r)
	go func() {
		for range 100 {
			m.gate <- true
		}
	}()
	a.Collect(context.Background())
	b.Collect(context.Background())
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, st := range m.steps {
		if len(st) > 1 {
			t.Fatalf("two 12-position requests ran together under a 20-position budget: %v", m.steps)
		}
	}
}

// Many requests with random lengths, cancellations, budgets and prefix reuse:
// every stream ends with exactly one final event and no cache leaks.
func TestStress(t *testing.T) {
	vocab := 259 + len(testWords)
	m := &fakeModel{vocab: vocab, next: hashNext}
	s := newSched(t, m, Options{MaxSeqs: 4, MaxQueue: 200, ChunkSize: 5, MaxBatch: 16, ContextLen: 48,
		MaxCacheTokens: 120, PrefixCache: 3})
	var wg sync.WaitGroup
	x := uint32(7)
	rnd := func(n int) int { x = x*1664525 + 1013904223; return int(x>>16) % n }
	for i := range 60 {
		p := make([]int32, 1+rnd(30))
		for j := range p {
			p[j] = int32(3 + rnd(20)) // few distinct tokens: prefixes repeat
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancelAfter := rnd(6) // events before cancelling; 5 = never
		st, err := s.Submit(ctx, Request{Prompt: p, MaxTokens: 1 + rnd(15), IgnoreEOS: i%2 == 0,
			Stop: []string{"x!"}, Sampling: sample.Params{Temperature: float32(rnd(2)), Seed: int64(i)}})
		if err != nil {
			cancel()
			t.Fatalf("submit %d: %v", i, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel()
			finals := 0
			for n := 0; ; n++ {
				if n == cancelAfter {
					cancel()
				}
				e, err := st.Recv(context.Background())
				if err != nil {
					break
				}
				if e.Done {
					finals++
					if e.FinishReason == FinishError {
						t.Errorf("request %d failed: %v", i, e.Err)
					}
				}
			}
			if finals != 1 {
				t.Errorf("request %d: %d final events", i, finals)
			}
		}()
	}
	wg.Wait()
	waitFor(t, func() bool { st := s.Stats(); return st.Active == 0 && st.Queued == 0 })
	s.Close()
	if m.live != 0 {
		t.Errorf("%d caches leaked", m.live)
	}
	if st := s.Stats(); st.Completed != 60 || st.ReservedTokens != 0 {
		t.Errorf("stats %+v", st)
	}
}
