// Package engine is the facade of the built-in inference engine: it loads a
// Phi-3 GGUF file (weights mapped, tokenizer from the metadata), renders
// chat prompts, and runs generation requests through a continuous-batching
// scheduler. The data plane reaches the engine only through this package.
//
// The engine is a library: nothing under internal/engine imports HTTP, SQL
// or service packages (deps_test.go enforces it).
package engine

import (
	"context"
	"errors"
	"fmt"

	"maas/internal/engine/chat"
	"maas/internal/engine/gguf"
	"maas/internal/engine/phi3"
	"maas/internal/engine/sched"
	"maas/internal/engine/tokenizer"
)

// Types shared with the scheduler and the chat renderer.
type (
	Request = sched.Request // prompt ids, max tokens, sampling, stop strings, ...
	Event   = sched.Event   // text delta with token ids and logprobs; the last has Done set
	Stream  = sched.Stream  // Recv(ctx) events until io.EOF
	Stats   = sched.Stats   // active and queued sequences, counters
	Message = chat.Message  // {Role: system|user|assistant, Content}
)

// Finish reasons of the final Event.
const (
	FinishStop      = sched.FinishStop
	FinishLength    = sched.FinishLength
	FinishCancelled = sched.FinishCancelled
	FinishError     = sched.FinishError
)

// Errors of Generate that callers map to HTTP statuses.
var (
	ErrQueueFull     = sched.ErrQueueFull     // 429/503 with Retry-After
	ErrPromptTooLong = sched.ErrPromptTooLong // 400: prompt does not fit the context
	ErrClosed        = sched.ErrClosed        // the engine was closed
	ErrTooLarge      = sched.ErrTooLarge      // 400: the request can never fit KVCacheBytes
)

// Options configure a loaded model. Zero values take the defaults.
type Options struct {
	Threads    int // worker goroutines for the forward pass (default GOMAXPROCS)
	ContextLen int // positions per sequence (default and maximum: the model's context length)
	MaxSeqs    int // sequences decoded together (default 8)
	MaxQueue   int // requests waiting for a slot (default 64)
	ChunkSize  int // prompt tokens per step while other sequences decode (default 64)
	MaxBatch   int // rows per step (default 512)
	// PrefixCache turns on sharing of KV blocks between requests whose
	// prompts start with the same full blocks, running or finished
	// (0 or positive: on; negative: off).
	PrefixCache int
	// KVCacheBytes bounds the KV block pool of the model (float32 K and V:
	// 8 * layers * kv_dim bytes per position); requests wait for blocks,
	// and unreferenced cached prefix blocks are evicted least recently used
	// first. 0 means no bound (then at most one context of idle cached
	// blocks is kept).
	KVCacheBytes int64
	// KVBlockSize is the positions per KV block (default 16).
	KVBlockSize int
	// KeepPageCache makes Load fault the weights in as the page cache holds
	// them. By default a file of 64 MiB or more that the page cache holds
	// mostly in 4 KiB pages is dropped from it and read again, so that it is
	// mapped with 2 MiB pages (gguf.File.Prefault): one more read of the
	// file at load, up to twice the decoding speed after.
	KeepPageCache bool
}

// Engine is one loaded model with its scheduler. Safe for concurrent use.
type Engine struct {
	file   *gguf.File
	pages  gguf.PageStats
	pgErr  error
	model  *phi3.Model
	tok    *tokenizer.Tokenizer
	sched  *sched.Scheduler
	kv     *phi3.KVPool
	ctxLen int
	system bool
}

// Load maps a phi3 GGUF file and starts its scheduler.
func Load(path string, opts Options) (*Engine, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("engine: open model: %w", err)
	}
	e, err := newEngine(f, opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("engine: load %s: %w", path, err)
	}
	// Not fatal: the weights fault in on first use instead.
	e.pages, e.pgErr = f.Prefault(!opts.KeepPageCache)
	return e, nil
}

func newEngine(f *gguf.File, opts Options) (*Engine, error) {
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, err
	}
	m, err := phi3.New(f, phi3.Options{Threads: opts.Threads, MaxBatch: opts.MaxBatch})
	if err != nil {
		return nil, err
	}
	if tok.Len() > m.Vocab() {
		m.Close()
		return nil, fmt.Errorf("tokenizer has %d tokens but the model only %d logits", tok.Len(), m.Vocab())
	}
	ctxLen := m.Config.ContextLength
	if opts.ContextLen > 0 {
		ctxLen = opts.ContextLen
	}
	if ctxLen > m.Config.ContextLength {
		m.Close()
		return nil, fmt.Errorf("context length %d exceeds the model's %d", ctxLen, m.Config.ContextLength)
	}
	bs := opts.KVBlockSize
	if bs <= 0 {
		bs = phi3.DefaultBlockSize
	}
	kv, err := m.NewKVPool(phi3.KVPoolOptions{BlockSize: bs, MaxBytes: opts.KVCacheBytes,
		Prefix: opts.PrefixCache >= 0, MaxIdleBlocks: (ctxLen + bs - 1) / bs})
	if err != nil {
		m.Close()
		return nil, err
	}
	budget := kv.Stats().Max * bs // positions; 0: no bound
	s, err := sched.New(&phi3Adapter{m: m, kv: kv}, tok, sched.Options{
		MaxSeqs: opts.MaxSeqs, MaxQueue: opts.MaxQueue, ChunkSize: opts.ChunkSize,
		MaxBatch: opts.MaxBatch, ContextLen: ctxLen, MaxCacheTokens: budget,
	})
	if err != nil {
		m.Close()
		return nil, err
	}
	return &Engine{file: f, model: m, tok: tok, sched: s, kv: kv, ctxLen: ctxLen,
		system: chat.SupportsSystem(tok.ChatTemplate())}, nil
}

// Close stops the scheduler (running requests end with FinishError), frees
// the model and unmaps the file.
func (e *Engine) Close() error {
	e.sched.Close()
	err := e.model.Close()
	if cerr := e.file.Close(); err == nil {
		err = cerr
	}
	return err
}

// ContextLength returns the positions each request may use (prompt plus
// generated tokens).
func (e *Engine) ContextLength() int { return e.ctxLen }

// Tokenizer returns the model's tokenizer.
func (e *Engine) Tokenizer() *tokenizer.Tokenizer { return e.tok }

// SupportsSystemRole reports whether the model's chat template has a system
// turn. The data plane decides what to pass to RenderChat.
func (e *Engine) SupportsSystemRole() bool { return e.system }

// RenderChat turns messages into prompt ids in the Phi-3 chat format, BOS
// first, ending with the assistant marker. With systemRole false, system
// messages are folded into the first user message.
func (e *Engine) RenderChat(msgs []Message, systemRole bool) ([]int32, error) {
	return chat.Encode(e.tok, msgs, systemRole)
}

// TokenizePrompt turns a raw completion prompt into ids: BOS first, special
// token text (<|user|>, ...) parsed.
func (e *Engine) TokenizePrompt(text string) []int32 {
	return e.tok.Encode(text, true, true)
}

// Generate queues a request; ending ctx cancels it. It fails at once with
// ErrQueueFull, ErrPromptTooLong, ErrClosed or a parameter error.
func (e *Engine) Generate(ctx context.Context, req Request) (*Stream, error) {
	return e.sched.Submit(ctx, req)
}

// Stats returns the scheduler's load.
func (e *Engine) Stats() Stats { return e.sched.Stats() }

// PageStats reports how Load made the weights resident: how much is on 2
// MiB pages and whether the page cache was read again for them, and why
// faulting them in failed, if it did (the weights then fault in on use).
func (e *Engine) PageStats() (gguf.PageStats, error) { return e.pages, e.pgErr }

// MemoryBytes returns the size of the mapped model file plus the KV block
// memory held (in use, cached or free) or reserved by running sequences,
// whichever is larger.
func (e *Engine) MemoryBytes() int64 {
	st := e.kv.Stats()
	return e.file.Size() + int64(max(st.Live, st.Used+st.Reserved))*st.BlockBytes
}

// KVStats returns the state of the model's KV block pool.
func (e *Engine) KVStats() phi3.KVStats { return e.kv.Stats() }

// phi3Adapter lets the scheduler drive a phi3.Model; it is a
// sched.PagedModel over one KV block pool.
type phi3Adapter struct {
	m      *phi3.Model
	kv     *phi3.KVPool
	caches []*phi3.Cache // reused per step
}

type phi3Cache struct{ c *phi3.Cache }

// Release returns the cache's blocks to the pool.
func (c *phi3Cache) Release() {
	if c.c != nil {
		c.c.Release()
		c.c = nil
	}
}

func (c *phi3Cache) Truncate(n int) error {
	if c.c == nil {
		return fmt.Errorf("engine: truncate a released cache")
	}
	return c.c.Truncate(n)
}

func (a *phi3Adapter) VocabSize() int { return a.m.Vocab() }

func (a *phi3Adapter) NewCache(n int) (sched.Cache, error) {
	c, err := a.kv.NewCache(n)
	if err != nil {
		return nil, err
	}
	return &phi3Cache{c: c}, nil
}

func (a *phi3Adapter) AdmitCache(ctxLen, need int, prompt []int32) (sched.Cache, int, error) {
	c, n, err := a.kv.Admit(ctxLen, need, prompt)
	switch {
	case errors.Is(err, phi3.ErrKVFull):
		return nil, 0, fmt.Errorf("%w: %w", sched.ErrCacheFull, err)
	case errors.Is(err, phi3.ErrKVTooLarge):
		return nil, 0, fmt.Errorf("%w: %w", sched.ErrTooLarge, err)
	case err != nil:
		return nil, 0, err
	}
	return &phi3Cache{c: c}, n, nil
}

func (a *phi3Adapter) KVUsage() (used, cached, max int) {
	st := a.kv.Stats()
	return st.Used * st.BlockSize, st.Cached * st.BlockSize, st.Max * st.BlockSize
}

func (a *phi3Adapter) Forward(b *sched.Batch, caches []sched.Cache, out []float32) error {
	a.caches = a.caches[:0]
	for i, c := range caches {
		pc, ok := c.(*phi3Cache)
		if !ok || pc.c == nil {
			return fmt.Errorf("engine: sequence %d has no phi3 cache", i)
		}
		a.caches = append(a.caches, pc.c)
	}
	logits, err := a.m.Forward(phi3.Batch{Tokens: b.Tokens, Pos: b.Pos, Seq: b.Seq, Logits: b.Logits}, a.caches)
	if err != nil {
		return err
	}
	if len(logits) > len(out) {
		return fmt.Errorf("engine: forward returned %d logits, room for %d", len(logits), len(out))
	}
	copy(out, logits)
	return nil
}
