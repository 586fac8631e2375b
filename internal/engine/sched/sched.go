// Package sched runs generation requests on one loaded model with continuous
// batching: every step is ONE forward over all active sequences (one decode
// token for each running sequence plus chunks of prompts being prefilled).
// New requests join between steps, finished ones leave at once, and a request
// whose context ends is dropped, with its cache released, at the next step.
//
// The loop never panics on a request's behalf: a failing forward or sampler
// fails the sequences involved and the loop goes on.
//
// sched imports engine/{sample,tokenizer} and the standard library; the model
// is reached through the Model interface. The engine facade uses it.
package sched

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"maas/internal/engine/sample"
	"maas/internal/engine/tokenizer"
)

// Options size the scheduler. Zero values take the defaults.
type Options struct {
	MaxSeqs    int // sequences decoded together (default 8)
	MaxQueue   int // requests waiting for a slot (default 64); more get ErrQueueFull
	ChunkSize  int // most prompt tokens per step while other sequences decode (default 64)
	MaxBatch   int // most rows per step (default 512, at least MaxSeqs)
	ContextLen int // positions per sequence cache (required, > 0)
	// MaxCacheTokens bounds the KV positions of running sequences (each
	// reserves prompt + max tokens, or ContextLen) plus kept prefix caches;
	// a request waits until it fits. 0 means no bound.
	MaxCacheTokens int
	// PrefixCache is how many finished sequences' caches are kept for
	// prompts that start with the same tokens (0: off).
	PrefixCache int
}

func (o Options) withDefaults() Options {
	if o.MaxSeqs <= 0 {
		o.MaxSeqs = 8
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = 64
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 64
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 512
	}
	o.MaxBatch = max(o.MaxBatch, o.MaxSeqs)
	return o
}

// Request is one generation.
type Request struct {
	Prompt    []int32
	MaxTokens int // most tokens to generate; 0 means until the context is full
	Sampling  sample.Params
	Stop      []string // stop strings; the text before the first one is returned
	IgnoreEOS bool     // keep going after end-of-generation tokens
	// TrimLeadingSpace drops one space at the start of the output (the
	// SentencePiece word-start marker of the first token), for chat replies.
	TrimLeadingSpace bool
	// Tenant groups requests for fairness: a free slot goes to the waiting
	// request whose tenant has the fewest running sequences.
	Tenant string
}

// Stats is a snapshot of the scheduler's load.
type Stats struct {
	Active, Queued      int
	MaxSeqs, MaxQueue   int
	Steps               int64 // forwards run
	PromptTokens        int64 // prompt tokens evaluated
	GeneratedTokens     int64 // tokens sampled
	Completed, Failures int64
	PrefixHits          int64 // requests that reused a kept cache
	PrefixTokens        int64 // prompt tokens not recomputed thanks to them
	ReservedTokens      int   // KV positions reserved by running sequences
	KeptTokens          int   // KV positions held by kept prefix caches
}

// Scheduler owns a model and runs its requests. It is safe for concurrent use.
type Scheduler struct {
	model Model
	tok   *tokenizer.Tokenizer
	opts  Options
	vocab int

	mu     sync.Mutex
	queue  []*seq
	closed bool
	stats  Stats
	wake   chan struct{}
	done   chan struct{}

	// Owned by the loop goroutine.
	reserved int
	prefix   prefixPool
}

// seq is one request in flight.
type seq struct {
	ctx     context.Context
	req     Request
	stream  *Stream
	cache   Cache
	sampler *sample.Sampler
	dec     *tokenizer.StreamDecoder
	stop    *sample.StopMatcher

	submitted, joined, firstTok time.Time
	need                        int     // KV positions reserved
	out                         []int32 // generated tokens
	nPast                       int     // positions in the cache
	pending                     int32   // sampled token not yet in the cache; -1 while prefilling
	generated                   int
	leading                     bool // no text emitted yet (for TrimLeadingSpace)
	row                         int  // logits row in this step, -1 if none
}

// New starts a scheduler over model. tok detokenises and knows the
// end-of-generation tokens. Close stops it.
func New(model Model, tok *tokenizer.Tokenizer, opts Options) (*Scheduler, error) {
	opts = opts.withDefaults()
	if opts.ContextLen <= 0 {
		return nil, fmt.Errorf("sched: context length %d must be > 0", opts.ContextLen)
	}
	vocab := model.VocabSize()
	if vocab <= 0 || tok.Len() > vocab {
		return nil, fmt.Errorf("sched: model vocabulary %d smaller than tokenizer's %d", vocab, tok.Len())
	}
	s := &Scheduler{
		model: model, tok: tok, opts: opts, vocab: vocab,
		wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
	s.stats.MaxSeqs, s.stats.MaxQueue = opts.MaxSeqs, opts.MaxQueue
	s.prefix.max = max(opts.PrefixCache, 0)
	go s.loop()
	return s, nil
}

// ContextLen returns the positions available to each sequence.
func (s *Scheduler) ContextLen() int { return s.opts.ContextLen }

// Submit queues a request. Its events arrive on the returned stream; ending
// ctx cancels the request (final event FinishCancelled). It fails at once
// with ErrQueueFull, ErrClosed, ErrEmptyPrompt, ErrPromptTooLong or a
// sampling-parameter error.
func (s *Scheduler) Submit(ctx context.Context, req Request) (*Stream, error) {
	if len(req.Prompt) == 0 {
		return nil, ErrEmptyPrompt
	}
	if len(req.Prompt) >= s.opts.ContextLen {
		return nil, fmt.Errorf("%w: %d prompt tokens, context %d", ErrPromptTooLong, len(req.Prompt), s.opts.ContextLen)
	}
	for i, id := range req.Prompt {
		if id < 0 || int(id) >= s.vocab {
			return nil, fmt.Errorf("sched: prompt token %d at index %d outside vocabulary of %d", id, i, s.vocab)
		}
	}
	if req.MaxTokens < 0 {
		return nil, fmt.Errorf("sched: max tokens %d must be >= 0", req.MaxTokens)
	}
	sm, err := sample.New(req.Sampling, s.vocab)
	if err != nil {
		return nil, err
	}
	need := s.need(req)
	if b := s.opts.MaxCacheTokens; b > 0 && need > b {
		return nil, fmt.Errorf("%w: %d positions (prompt %d + max tokens), budget %d", ErrTooLarge, need, len(req.Prompt), b)
	}
	q := &seq{
		ctx: ctx, req: req, stream: newStream(), sampler: sm,
		dec: s.tok.NewStreamDecoder(), stop: sample.NewStopMatcher(req.Stop),
		submitted: time.Now(), pending: -1, leading: true, row: -1, need: need,
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, ErrClosed
	case len(s.queue) >= s.opts.MaxQueue:
		s.mu.Unlock()
		return nil, ErrQueueFull
	}
	s.queue = append(s.queue, q)
	s.mu.Unlock()
	s.signal()
	return q.stream, nil
}

// need is the KV positions a request may use.
func (s *Scheduler) need(req Request) int {
	if req.MaxTokens == 0 {
		return s.opts.ContextLen
	}
	return min(s.opts.ContextLen, len(req.Prompt)+req.MaxTokens)
}

// Stats returns the current load.
func (s *Scheduler) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Queued = len(s.queue)
	return st
}

// Close stops the loop after its current step; every request still queued
// or running gets a final FinishError event with ErrClosed.
func (s *Scheduler) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.signal()
	<-s.done
	return nil
}

func (s *Scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// loop is the step loop; it runs until Close.
func (s *Scheduler) loop() {
	defer close(s.done)
	var active []*seq
	var b Batch
	caches := make([]Cache, 0, s.opts.MaxSeqs)
	out := make([]float32, s.opts.MaxSeqs*s.vocab)
	for {
		closed := s.admit(&active)
		if closed {
			for _, q := range active {
				s.finish(q, FinishError, ErrClosed)
			}
			for len(s.prefix.entries) > 0 {
				s.releaseCache(s.prefix.evictOldest().cache)
			}
			s.drainQueue()
			return
		}
		active = s.dropCancelled(active)
		s.setActive(len(active))
		if len(active) == 0 {
			<-s.wake
			continue
		}
		b.reset()
		caches = caches[:0]
		stepSeqs := s.plan(active, &b, &caches)
		if b.Len() == 0 {
			continue
		}
		err := s.forward(&b, caches, out)
		s.mu.Lock()
		s.stats.Steps++
		s.mu.Unlock()
		if err != nil {
			s.isolate(&b, stepSeqs, out, err)
		} else {
			for _, q := range stepSeqs {
				if q.row >= 0 {
					s.advance(q, out[q.row*s.vocab:(q.row+1)*s.vocab])
				}
			}
		}
		active = slices.DeleteFunc(active, func(q *seq) bool { return q.cache == nil })
		s.setActive(len(active))
	}
}

func (s *Scheduler) setActive(n int) {
	s.mu.Lock()
	s.stats.Active, s.stats.Queued = n, len(s.queue)
	s.mu.Unlock()
}

// isolate handles a failed step: with one sequence it fails it; with
// several it runs each sequence's rows alone (the model leaves caches
// unchanged on error) so that only the failing ones are failed.
func (s *Scheduler) isolate(b *Batch, step []*seq, out []float32, err error) {
	if len(step) == 1 {
		s.finish(step[0], FinishError, fmt.Errorf("sched: forward step: %w", err))
		return
	}
	var one Batch
	for k, q := range step {
		one.reset()
		row := -1
		for i := range b.Tokens {
			if b.Seq[i] != k {
				continue
			}
			one.add(b.Tokens[i], b.Pos[i], 0, b.Logits[i])
			if b.Logits[i] {
				row = 0
			}
		}
		q.nPast -= one.Len()
		if err := s.forward(&one, []Cache{q.cache}, out); err != nil {
			s.finish(q, FinishError, fmt.Errorf("sched: forward step: %w", err))
			continue
		}
		q.nPast += one.Len()
		if row >= 0 {
			s.advance(q, out[:s.vocab])
		}
	}
}

// admit moves waiting requests into free slots, fairest tenant first, and
// reports whether the scheduler is closed.
func (s *Scheduler) admit(active *[]*seq) bool {
	// Waiting requests whose context ended leave the queue now.
	s.mu.Lock()
	var gone []*seq
	s.queue = slices.DeleteFunc(s.queue, func(q *seq) bool {
		if q.ctx.Err() != nil {
			gone = append(gone, q)
			return true
		}
		return false
	})
	s.mu.Unlock()
	for _, q := range gone {
		s.emitFinal(q, FinishCancelled, nil)
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return true
		}
		if len(*active) >= s.opts.MaxSeqs || len(s.queue) == 0 {
			s.stats.Active, s.stats.Queued = len(*active), len(s.queue)
			s.mu.Unlock()
			return false
		}
		running := map[string]int{}
		for _, q := range *active {
			running[q.req.Tenant]++
		}
		pick := 0
		for i, q := range s.queue {
			if running[q.req.Tenant] < running[s.queue[pick].req.Tenant] {
				pick = i
			}
		}
		q := s.queue[pick]
		if q.ctx.Err() == nil && !s.makeRoom(q.need) {
			s.mu.Unlock()
			return false // wait for running sequences to leave
		}
		s.queue = slices.Delete(s.queue, pick, pick+1)
		s.mu.Unlock()

		if q.ctx.Err() != nil {
			s.emitFinal(q, FinishCancelled, nil)
			continue
		}
		if err := s.attachCache(q); err != nil {
			s.emitFinal(q, FinishError, err)
			continue
		}
		s.reserved += q.need
		s.mu.Lock()
		s.stats.ReservedTokens, s.stats.KeptTokens = s.reserved, s.prefix.tokens
		s.mu.Unlock()
		q.joined = time.Now()
		*active = append(*active, q)
	}
}

// makeRoom evicts kept prefix caches until need more positions fit the
// budget, and reports whether they do.
func (s *Scheduler) makeRoom(need int) bool {
	b := s.opts.MaxCacheTokens
	if b <= 0 {
		return true
	}
	for s.reserved+s.prefix.tokens+need > b && len(s.prefix.entries) > 0 {
		s.releaseCache(s.prefix.evictOldest().cache)
	}
	return s.reserved+s.prefix.tokens+need <= b
}

// attachCache gives q a kept cache sharing its prompt's prefix, or a new one.
func (s *Scheduler) attachCache(q *seq) error {
	if e, common, ok := s.prefix.take(q.req.Prompt); ok {
		n := min(common, len(q.req.Prompt)-1) // recompute at least the last prompt token
		if err := truncate(e.cache, n); err == nil {
			q.cache, q.nPast = e.cache, n
			s.mu.Lock()
			s.stats.PrefixHits++
			s.stats.PrefixTokens += int64(n)
			s.mu.Unlock()
			return nil
		}
		s.releaseCache(e.cache)
	}
	c, err := s.newCache()
	if err != nil {
		return fmt.Errorf("sched: allocate KV cache: %w", err)
	}
	q.cache = c
	return nil
}

// truncate calls c.Truncate, turning a panic into an error.
func truncate(c Cache, n int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.Truncate(n)
}

// newCache calls the model, turning a panic into an error.
func (s *Scheduler) newCache() (c Cache, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return s.model.NewCache(s.opts.ContextLen)
}

// forward runs the model, turning a panic into an error.
func (s *Scheduler) forward(b *Batch, caches []Cache, out []float32) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return s.model.Forward(b, caches, out)
}

// drainQueue fails every waiting request after Close.
func (s *Scheduler) drainQueue() {
	s.mu.Lock()
	q := s.queue
	s.queue = nil
	s.stats.Queued = 0
	s.mu.Unlock()
	for _, x := range q {
		s.emitFinal(x, FinishError, ErrClosed)
	}
}

// dropCancelled finishes sequences whose context has ended.
func (s *Scheduler) dropCancelled(active []*seq) []*seq {
	return slices.DeleteFunc(active, func(q *seq) bool {
		if q.ctx.Err() == nil {
			return false
		}
		s.finish(q, FinishCancelled, nil)
		return true
	})
}

// plan fills b: first one decode row for every running sequence, then
// prompt chunks, oldest request first, within MaxBatch rows. It returns the
// sequences in the step; each gets row = its logits row or -1, and nPast as
// it will be once the step has run.
func (s *Scheduler) plan(active []*seq, b *Batch, caches *[]Cache) []*seq {
	var step []*seq
	rows := 0
	add := func(q *seq) int {
		*caches = append(*caches, q.cache)
		step = append(step, q)
		return len(*caches) - 1
	}
	for _, q := range active {
		q.row = -1
		if q.pending < 0 {
			continue
		}
		b.add(q.pending, int32(q.nPast), add(q), true)
		q.nPast++
		q.row = rows
		rows++
	}
	// Prompt rows: a full batch when nobody is decoding; otherwise a chunk,
	// so that a long prompt delays the running streams by one short step.
	budget := s.opts.MaxBatch - b.Len()
	if b.Len() > 0 {
		budget = min(budget, s.opts.ChunkSize)
	}
	for _, q := range active {
		if q.pending >= 0 || budget <= 0 {
			continue
		}
		n := min(len(q.req.Prompt)-q.nPast, budget)
		i := add(q)
		for range n {
			pos := q.nPast
			last := pos == len(q.req.Prompt)-1
			b.add(q.req.Prompt[pos], int32(pos), i, last)
			q.nPast++
			if last {
				q.row = rows
				rows++
			}
		}
		budget -= n
	}
	return step
}

// advance samples the next token of q from its logits row and emits it.
func (s *Scheduler) advance(q *seq, logits []float32) {
	if q.pending >= 0 {
		q.pending = -1 // now in the cache
	}
	r, err := q.sampler.Sample(logits)
	if err != nil {
		s.finish(q, FinishError, fmt.Errorf("sched: sample: %w", err))
		return
	}
	id := r.ID
	q.sampler.Accept(id)
	q.out = append(q.out, id)
	q.generated++
	if q.generated == 1 {
		q.firstTok = time.Now()
	}
	s.mu.Lock()
	s.stats.GeneratedTokens++
	if q.generated == 1 {
		s.stats.PromptTokens += int64(len(q.req.Prompt))
	}
	s.mu.Unlock()

	ev := Event{Tokens: []int32{id}}
	if q.req.Sampling.Logprobs || q.req.Sampling.TopLogprobs > 0 {
		ev.Logprobs = []sample.Result{r}
	}
	eog := !q.req.IgnoreEOS && s.tok.IsEOG(id)
	if !eog {
		text, stopped := q.stop.Push(s.trim(q, q.dec.Push(id)))
		ev.Text = text
		if stopped {
			s.emitDone(q, ev, FinishStop, false)
			return
		}
	}
	switch {
	case eog:
		s.emitDone(q, ev, FinishStop, true)
	case q.req.MaxTokens > 0 && q.generated >= q.req.MaxTokens:
		s.emitDone(q, ev, FinishLength, true)
	case q.nPast >= s.opts.ContextLen:
		s.emitDone(q, ev, FinishLength, true) // no position left to feed id
	default:
		q.pending = id
		q.stream.push(ev)
	}
}

// trim drops the first emitted byte when it is a space and the request
// asked for it.
func (s *Scheduler) trim(q *seq, text string) string {
	if !q.leading || text == "" {
		return text
	}
	q.leading = false
	if q.req.TrimLeadingSpace && text[0] == ' ' {
		return text[1:]
	}
	return text
}

// emitDone sends ev as the final event and releases the sequence. With
// flush, the decoder's and matcher's held-back text is appended first (not
// after a stop string, whose remainder is dropped).
func (s *Scheduler) emitDone(q *seq, ev Event, reason string, flush bool) {
	if flush {
		rest, stopped := q.stop.Push(s.trim(q, q.dec.Flush()))
		ev.Text += rest
		if !stopped {
			ev.Text += q.stop.Flush()
		}
	}
	s.release(q, true)
	s.fillFinal(q, &ev, reason, nil)
	q.stream.push(ev)
}

// finish ends q without a new token (cancellation, errors, close).
func (s *Scheduler) finish(q *seq, reason string, err error) {
	s.release(q, reason != FinishError)
	s.emitFinal(q, reason, err)
}

func (s *Scheduler) emitFinal(q *seq, reason string, err error) {
	var ev Event
	s.fillFinal(q, &ev, reason, err)
	q.stream.push(ev)
}

func (s *Scheduler) fillFinal(q *seq, ev *Event, reason string, err error) {
	now := time.Now()
	ev.Done = true
	ev.FinishReason = reason
	ev.Err = err
	ev.PromptTokens = len(q.req.Prompt)
	ev.CompletionTokens = q.generated
	if !q.firstTok.IsZero() {
		ev.TimeToFirstToken = q.firstTok.Sub(q.submitted)
	}
	if !q.joined.IsZero() {
		ev.QueueTime = q.joined.Sub(q.submitted)
	} else {
		ev.QueueTime = now.Sub(q.submitted)
	}
	ev.TotalTime = now.Sub(q.submitted)
	s.mu.Lock()
	if reason == FinishError {
		s.stats.Failures++
	} else {
		s.stats.Completed++
	}
	s.mu.Unlock()
}

// release takes q's cache away from it (once): into the prefix pool when
// it is reusable (the sequence did not fail), released otherwise.
func (s *Scheduler) release(q *seq, reusable bool) {
	if q.cache == nil {
		return
	}
	c := q.cache
	q.cache = nil
	s.reserved -= q.need
	if reusable && s.prefix.max > 0 && q.nPast >= minPrefix {
		hist := make([]int32, 0, q.nPast)
		hist = append(hist, q.req.Prompt[:min(q.nPast, len(q.req.Prompt))]...)
		if rest := q.nPast - len(hist); rest > 0 {
			hist = append(hist, q.out[:rest]...)
		}
		for _, e := range s.prefix.put(c, hist) {
			s.releaseCache(e.cache)
		}
	} else {
		s.releaseCache(c)
	}
	s.mu.Lock()
	s.stats.ReservedTokens, s.stats.KeptTokens = s.reserved, s.prefix.tokens
	s.mu.Unlock()
}

// releaseCache calls Release, ignoring a panic.
func (s *Scheduler) releaseCache(c Cache) {
	defer func() { _ = recover() }()
	c.Release()
}
