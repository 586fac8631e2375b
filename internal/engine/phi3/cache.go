package phi3

import (
	"errors"
	"fmt"
)

// ErrContextFull is returned (wrapped) when a sequence would grow past the
// context length of its Cache.
var ErrContextFull = errors.New("phi3: context full")

// Cache is the key/value cache of one sequence: for each layer, the K and V
// rows (KVDim float32 each, RoPE already applied to K) of positions
// 0..Len()-1. Storage grows in steps as positions are added, up to the
// context length fixed at creation. A Cache is used by one Forward at a time.
type Cache struct {
	ctx     int         // maximum positions
	n       int         // positions filled
	kvDim   int         // KVHeads * HeadDim
	k, v    [][]float32 // [layer] -> (n, kvDim) row-major
	factor  []float32   // LongRoPE factors for this sequence, nil for none
	long    bool        // factor is the long set
	pending int         // rows of the batch being checked (Forward's validation)
	model   *Model
}

// NewCache returns an empty cache for a sequence configured with a context
// of ctxLen positions. The context also selects LongRoPE's factors, as in
// llama.cpp: the long factors when ctxLen exceeds the original context
// length, the short ones otherwise.
func (m *Model) NewCache(ctxLen int) (*Cache, error) {
	if ctxLen <= 0 || ctxLen > maxDim {
		return nil, fmt.Errorf("phi3: new cache: context length %d out of range [1, %d]", ctxLen, maxDim)
	}
	c := &Cache{ctx: ctxLen, kvDim: m.Config.KVDim(), model: m,
		k: make([][]float32, m.Config.Layers), v: make([][]float32, m.Config.Layers)}
	if ctxLen > m.Config.OrigContext && m.ropeLong != nil {
		c.factor, c.long = m.ropeLong, true
	} else if m.ropeShort != nil {
		c.factor = m.ropeShort
	} else {
		c.factor, c.long = m.ropeLong, m.ropeLong != nil
	}
	return c, nil
}

// Len returns the number of positions stored.
func (c *Cache) Len() int { return c.n }

// Cap returns the context length the cache was created with.
func (c *Cache) Cap() int { return c.ctx }

// LongRoPE reports whether the sequence uses the long rope factors.
func (c *Cache) LongRoPE() bool { return c.long }

// Truncate drops positions n and later, so the sequence continues at n.
func (c *Cache) Truncate(n int) error {
	if n < 0 || n > c.n {
		return fmt.Errorf("phi3: truncate cache to %d: it holds %d positions", n, c.n)
	}
	c.n = n
	return nil
}

// Reset empties the cache, keeping its storage.
func (c *Cache) Reset() { c.n = 0 }

// reserve makes room for n positions in every layer.
func (c *Cache) reserve(n int) {
	need := n * c.kvDim
	if len(c.k) == 0 || cap(c.k[0]) >= need {
		return
	}
	// Grow by doubling (at least 256 positions) so appends are amortised.
	pos := min(c.ctx, max(n, 2*cap(c.k[0])/max(c.kvDim, 1), 256))
	for l := range c.k {
		k := make([]float32, pos*c.kvDim)
		copy(k, c.k[l][:c.n*c.kvDim])
		v := make([]float32, pos*c.kvDim)
		copy(v, c.v[l][:c.n*c.kvDim])
		c.k[l], c.v[l] = k, v
	}
}
