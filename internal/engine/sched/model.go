package sched

import "errors"

// Batch is one forward step over several sequences. Row i feeds token
// Tokens[i] at position Pos[i] (0-based) of sequence Seq[i], an index into
// the caches passed with the batch. Rows of one sequence are consecutive and
// in position order. Logits[i] asks for the logits after row i.
type Batch struct {
	Tokens []int32
	Pos    []int32
	Seq    []int
	Logits []bool
}

// Len returns the number of rows.
func (b *Batch) Len() int { return len(b.Tokens) }

func (b *Batch) reset() {
	b.Tokens, b.Pos, b.Seq, b.Logits = b.Tokens[:0], b.Pos[:0], b.Seq[:0], b.Logits[:0]
}

func (b *Batch) add(tok, pos int32, seq int, logits bool) {
	b.Tokens = append(b.Tokens, tok)
	b.Pos = append(b.Pos, pos)
	b.Seq = append(b.Seq, seq)
	b.Logits = append(b.Logits, logits)
}

// Cache is one sequence's KV cache, owned by the model that made it.
type Cache interface {
	// Truncate drops positions n and later (0 <= n <= positions held), so
	// the next Forward continues the sequence at position n.
	Truncate(n int) error
	// Release frees the cache's memory. The scheduler calls it once and
	// never uses the cache afterwards.
	Release()
}

// Model is the forward pass the scheduler drives. The engine facade adapts
// phi3 to it; tests use fakes.
type Model interface {
	// VocabSize is the length of one logits row.
	VocabSize() int
	// NewCache returns an empty cache for positions 0..ctxLen-1.
	NewCache(ctxLen int) (Cache, error)
	// Forward runs b. caches[Seq[i]] holds the sequence of row i; after a
	// successful call each cache also holds the batch's rows. For every row
	// with Logits set, in row order, it writes VocabSize() logits into out
	// (len(out) >= rows asked * VocabSize()). After an error the caches of
	// the sequences in b are not used again.
	Forward(b *Batch, caches []Cache, out []float32) error
}

// PagedModel is a Model whose caches take fixed-size blocks from one pool
// of bounded memory that also indexes full prompt blocks, so sequences
// (running or finished) share the blocks of a common prompt prefix. The
// scheduler then leaves KV budgeting and prefix reuse to the model.
type PagedModel interface {
	Model
	// AdmitCache returns a cache for a sequence of at most need positions
	// (len(prompt) <= need <= ctxLen) holding the longest cached prefix of
	// prompt, n positions (n < len(prompt)); the blocks the sequence may
	// still take are reserved, so Forward does not run out. It fails with
	// ErrCacheFull (wrapped) when the blocks are not free now and with
	// ErrTooLarge when they never will be.
	AdmitCache(ctxLen, need int, prompt []int32) (c Cache, n int, err error)
	// KVUsage reports the pool in positions: referenced by caches, cached
	// for reuse (unreferenced), and the bound (0: none).
	KVUsage() (used, cached, max int)
}

// Errors returned by Submit.
var (
	ErrQueueFull     = errors.New("sched: queue is full")
	ErrClosed        = errors.New("sched: scheduler is closed")
	ErrPromptTooLong = errors.New("sched: prompt does not fit the context")
	ErrEmptyPrompt   = errors.New("sched: empty prompt")
	ErrTooLarge      = errors.New("sched: request needs more KV cache than the budget")
	// ErrCacheFull is returned by PagedModel.AdmitCache when the request
	// must wait for blocks; Submit never returns it.
	ErrCacheFull = errors.New("sched: KV cache is full for now")
)
