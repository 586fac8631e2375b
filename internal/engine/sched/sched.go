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
	// a request waits until it fits. 0 means no bound. With a PagedModel
	// it only refuses requests larger than it; the model's pool decides
	// when a request fits.
	MaxCacheTokens int
	// PrefixCache is how many finished sequences' caches are kept for
	// prompts that start with the same tokens (0: off). Unused with a
	// PagedModel, which shares prefix blocks itself.
	PrefixCache int
	// MaxKeptTokens bounds the positions held by kept caches (default
	// ContextLen: at most one full context of KV memory lies idle).
	MaxKeptTokens int
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
	KeptTokens          int   // KV positions held by kept prefix caches (paged: cached blocks)
	// Paged models only, in positions: blocks referenced by caches and the
	// pool's bound (0: none).
	KVUsedTokens, KVMaxTokens int
}

// Scheduler owns a model and runs its requests. It is safe for concurrent use.
type Scheduler struct {
	model Model
	paged PagedModel // model, when it pages its caches; else nil
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
	if pm, ok := model.(PagedModel); ok {
		s.paged = pm
		s.prefix.max = 0
	}
	s.prefix.maxTokens = opts.MaxKeptTokens
	if s.prefix.maxTokens <= 0 {
		s.prefix.maxTokens = opts.ContextLen
	}
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
	if s.paged != nil {
		st.KVUsedTokens, st.KeptTokens, st.KVMaxTokens = s.paged.KVUsage()
	}
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
