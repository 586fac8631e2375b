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
// 0..Len()-1, in blocks of its KVPool's block size (rows contiguous inside
// a block). Leading full blocks may be shared read-only with other
// sequences of the pool. A Cache is used by one Forward at a time.
type Cache struct {
	ctx     int        // maximum positions
	n       int        // positions filled
	pool    *KVPool    // nil once released
	blocks  []*kvBlock // block i holds positions i*bs..(i+1)*bs-1
	toks    []int32    // token ids of positions 0..n-1
	hashes  []uint64   // chained hashes of the leading full blocks registered
	budget  int        // blocks reserved by Admit, not yet taken
	factor  []float32  // LongRoPE factors for this sequence, nil for none
	long    bool       // factor is the long set
	pending int        // rows of the batch being checked (Forward's validation)
	model   *Model

	tookReserved int  // reserved blocks taken by the last grow
	growing      bool // grown by the Forward in progress (growCaches)
	keep         int  // blocks before that grow
}

// NewCache returns an empty cache for a sequence configured with a context
// of ctxLen positions, with its own unbounded block pool (which keeps the
// blocks that Truncate and Reset free, for reuse). The context also selects
// LongRoPE's factors, as in llama.cpp: the long factors when ctxLen exceeds
// the original context length, the short ones otherwise.
func (m *Model) NewCache(ctxLen int) (*Cache, error) {
	idle := (min(max(ctxLen, 0), maxDim) + DefaultBlockSize - 1) / DefaultBlockSize
	p, err := m.NewKVPool(KVPoolOptions{MaxIdleBlocks: idle})
	if err != nil {
		return nil, err
	}
	return m.newCache(ctxLen, p)
}

func (m *Model) newCache(ctxLen int, p *KVPool) (*Cache, error) {
	if ctxLen <= 0 || ctxLen > maxDim {
		return nil, fmt.Errorf("phi3: new cache: context length %d out of range [1, %d]", ctxLen, maxDim)
	}
	c := &Cache{ctx: ctxLen, model: m, pool: p}
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
// A shared block that the sequence would write into is copied first.
func (c *Cache) Truncate(n int) error {
	if c.pool == nil {
		return fmt.Errorf("phi3: truncate cache: it was released")
	}
	if n < 0 || n > c.n {
		return fmt.Errorf("phi3: truncate cache to %d: it holds %d positions", n, c.n)
	}
	p := c.pool
	bs := p.bs
	keep := (n + bs - 1) / bs
	p.mu.Lock()
	defer p.mu.Unlock()
	if n%bs != 0 {
		if b := c.blocks[n/bs]; b.refs > 1 || b.indexed {
			if !p.canTake(c, 1) {
				return fmt.Errorf("phi3: truncate cache to %d: copy shared block: %w", n, ErrKVFull)
			}
			nb := p.take(c)
			c.tookReserved = 0
			copy(nb.data, b.data)
			c.blocks[n/bs] = nb
			p.release(b)
		}
	}
	for i := len(c.blocks) - 1; i >= keep; i-- {
		p.release(c.blocks[i])
	}
	clear(c.blocks[keep:])
	c.blocks = c.blocks[:keep]
	c.hashes = c.hashes[:min(len(c.hashes), n/bs)]
	c.toks = c.toks[:n]
	c.n = n
	return nil
}

// Reset empties the cache, returning its blocks to the pool.
func (c *Cache) Reset() {
	if c.pool != nil {
		_ = c.Truncate(0)
	}
}

// Release returns the cache's blocks and unused reservation to its pool;
// the cache must not be used afterwards (Forward rejects it).
func (c *Cache) Release() {
	p := c.pool
	if p == nil {
		return
	}
	p.mu.Lock()
	p.keepTail(c)
	// Last block first: the LRU then evicts a cached chain from its end,
	// keeping its start (the most shared part) reachable longest.
	for i := len(c.blocks) - 1; i >= 0; i-- {
		p.release(c.blocks[i])
	}
	p.reserved -= c.budget
	p.mu.Unlock()
	c.pool, c.blocks, c.toks, c.hashes, c.budget, c.n = nil, nil, nil, nil, 0, 0
}

// grow gives the cache blocks for n positions, or fails with ErrKVFull
// leaving it unchanged.
func (c *Cache) grow(n int) error {
	p := c.pool
	c.tookReserved = 0
	want := (n + p.bs - 1) / p.bs
	if want <= len(c.blocks) {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if k := want - len(c.blocks); !p.canTake(c, k) {
		return fmt.Errorf("phi3: forward: take %d KV blocks (%d used, %d reserved of %d): %w", k, p.used, p.reserved, p.max, ErrKVFull)
	}
	for len(c.blocks) < want {
		c.blocks = append(c.blocks, p.take(c))
	}
	return nil
}

// ungrow undoes the last grow: back to keep blocks, restoring the
// reservation it used.
func (c *Cache) ungrow(keep int) {
	p := c.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	keep = min(keep, len(c.blocks))
	for _, b := range c.blocks[keep:] {
		p.release(b)
	}
	clear(c.blocks[keep:])
	c.blocks = c.blocks[:keep]
	c.budget += c.tookReserved
	p.reserved += c.tookReserved
	c.tookReserved = 0
}

// kv returns the K and V rows of position pos in layer l.
func (c *Cache) kv(l, pos int) (k, v []float32) {
	bs, kvd := c.pool.bs, c.pool.kvd
	d := c.blocks[pos/bs].data
	o := l*2*bs*kvd + (pos%bs)*kvd
	return d[o : o+kvd], d[o+bs*kvd : o+bs*kvd+kvd]
}
