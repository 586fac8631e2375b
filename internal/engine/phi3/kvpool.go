package phi3

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

// DefaultBlockSize is the positions per KV block when KVPoolOptions leaves
// BlockSize zero.
const DefaultBlockSize = 16

// Errors of a bounded KVPool.
var (
	// ErrKVFull: the blocks are not free now; they may be once running
	// sequences release theirs.
	ErrKVFull = errors.New("phi3: KV pool has no free block")
	// ErrKVTooLarge: the sequence needs more blocks than the pool holds.
	ErrKVTooLarge = errors.New("phi3: sequence needs more KV blocks than the pool holds")
)

// KVPoolOptions configure a KVPool. Zero values take the defaults.
type KVPoolOptions struct {
	BlockSize int   // positions per block (default 16)
	MaxBytes  int64 // bound on block memory; 0: no bound
	// Prefix indexes every full block by the token ids it holds and those
	// before it, so Admit can hand them to later sequences.
	Prefix bool
	// MaxIdleBlocks is how many unreferenced blocks without content are
	// kept for reuse (the rest go to the garbage collector), and, for an
	// unbounded pool, how many unreferenced indexed blocks are kept.
	MaxIdleBlocks int
}

// KVStats is a snapshot of a pool, in blocks.
type KVStats struct {
	BlockSize  int   // positions per block
	BlockBytes int64 // memory of one block (K and V of every layer)
	Max        int   // blocks at most; 0: no bound
	Live       int   // blocks with storage
	Used       int   // blocks referenced by caches
	Cached     int   // unreferenced blocks kept in the prefix index
	Reserved   int   // blocks promised to admitted caches, not yet taken
}

// KVPool hands out fixed-size KV blocks to the Caches of one model. A block
// holds BlockSize positions of K and V for every layer; blocks are
// reference-counted, and full blocks of a prompt are shared read-only
// between sequences through the prefix index. Unreferenced indexed blocks
// stay cached and are evicted least recently used first. Safe for
// concurrent use.
type KVPool struct {
	model  *Model
	bs     int // positions per block
	kvd    int // floats per K (or V) row
	floats int // floats per block: layers * 2 * bs * kvd
	max    int // blocks at most; 0: no bound
	idle   int // MaxIdleBlocks
	prefix bool

	mu       sync.Mutex
	live     int        // blocks with storage
	used     int        // blocks with refs > 0
	reserved int        // sum of caches' budgets
	free     []*kvBlock // storage without content
	index    map[uint64]*kvBlock
	lru      kvList // indexed blocks with refs == 0, oldest first
	cached   int    // len(lru)
}

// kvBlock is the storage of bs positions: for each layer, K rows (bs, kvd)
// then V rows (bs, kvd).
type kvBlock struct {
	data []float32
	refs int
	gen  uint64 // incremented whenever the content is dropped

	// Valid while indexed: the chained hash, the tokens of the block, and
	// the block before it (nil for the first) in the incarnation parentGen.
	indexed    bool
	hash       uint64
	toks       []int32
	parent     *kvBlock
	parentGen  uint64
	long       bool
	kids       []*kvBlock // indexed blocks whose parent is this incarnation
	prev, next *kvBlock   // LRU links while cached
}

// NewKVPool returns an empty pool for caches of m.
func (m *Model) NewKVPool(o KVPoolOptions) (*KVPool, error) {
	if o.BlockSize == 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.BlockSize < 1 || o.BlockSize > 4096 || o.MaxBytes < 0 || o.MaxIdleBlocks < 0 {
		return nil, fmt.Errorf("phi3: new KV pool: block size %d (want 1..4096), max bytes %d, idle blocks %d", o.BlockSize, o.MaxBytes, o.MaxIdleBlocks)
	}
	kvd := m.Config.KVDim()
	p := &KVPool{model: m, bs: o.BlockSize, kvd: kvd, floats: m.Config.Layers * 2 * o.BlockSize * kvd,
		idle: o.MaxIdleBlocks, prefix: o.Prefix}
	if o.MaxBytes > 0 {
		p.max = int(o.MaxBytes / p.blockBytes())
		if p.max < 1 {
			return nil, fmt.Errorf("phi3: new KV pool: %d bytes hold no block of %d bytes", o.MaxBytes, p.blockBytes())
		}
	}
	if p.prefix {
		p.index = map[uint64]*kvBlock{}
	}
	return p, nil
}

func (p *KVPool) blockBytes() int64 { return 4 * int64(p.floats) }

// BlockSize returns the positions per block.
func (p *KVPool) BlockSize() int { return p.bs }

// Stats returns the pool's current state.
func (p *KVPool) Stats() KVStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return KVStats{BlockSize: p.bs, BlockBytes: p.blockBytes(), Max: p.max, Live: p.live,
		Used: p.used, Cached: p.cached, Reserved: p.reserved}
}

// NewCache returns an empty cache of ctxLen positions with no reserved
// blocks: Forward takes blocks while the pool has room and fails with
// ErrKVFull otherwise.
func (p *KVPool) NewCache(ctxLen int) (*Cache, error) {
	return p.model.newCache(ctxLen, p)
}

// Admit returns a cache for a sequence of at most need positions starting
// with prompt. It holds the longest indexed prefix of prompt in full blocks
// (n positions, n < len(prompt), so the last prompt token is always
// computed) and reserves the blocks the rest of the sequence may take, so
// its Forward calls never run out. It fails with ErrKVFull (wrapped) when
// the blocks are not free now and with ErrKVTooLarge when they never will be.
func (p *KVPool) Admit(ctxLen, need int, prompt []int32) (c *Cache, n int, err error) {
	if need < len(prompt) || need > ctxLen {
		return nil, 0, fmt.Errorf("phi3: admit: need %d positions for a prompt of %d in a context of %d", need, len(prompt), ctxLen)
	}
	c, err = p.model.newCache(ctxLen, p)
	if err != nil {
		return nil, 0, err
	}
	total := (need + p.bs - 1) / p.bs
	if p.max > 0 && total > p.max {
		return nil, 0, fmt.Errorf("phi3: admit %d positions (%d blocks of %d), pool holds %d: %w", need, total, p.bs, p.max, ErrKVTooLarge)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var match []*kvBlock
	var hashes []uint64
	if p.prefix && len(prompt) > 1 {
		match, hashes = p.lookup(prompt[:len(prompt)-1], c.long)
	}
	fresh := total - len(match)
	if p.max > 0 {
		wake := 0 // matched blocks that become referenced again
		for _, b := range match {
			if b.refs == 0 {
				wake++
			}
		}
		if p.used+wake+p.reserved+fresh > p.max {
			return nil, 0, fmt.Errorf("phi3: admit %d blocks: %d used, %d reserved of %d: %w", fresh+wake, p.used, p.reserved, p.max, ErrKVFull)
		}
	}
	for _, b := range match {
		p.acquire(b)
	}
	n = len(match) * p.bs
	c.blocks, c.hashes = match, hashes
	c.budget = fresh
	p.reserved += fresh
	if len(match) > 0 {
		// Copy the leading rows of a cached block that continues the
		// match part way (a private block: never shared while written).
		if src, m := p.partial(match[len(match)-1], prompt[n:len(prompt)-1]); m > 0 {
			p.acquire(src)
			nb := p.take(c)
			c.tookReserved = 0
			for l := range p.model.Config.Layers {
				o := l * 2 * p.bs * p.kvd
				copy(nb.data[o:o+m*p.kvd], src.data[o:o+m*p.kvd])
				o += p.bs * p.kvd
				copy(nb.data[o:o+m*p.kvd], src.data[o:o+m*p.kvd])
			}
			p.release(src)
			c.blocks = append(c.blocks, nb)
			n += m
		}
	}
	c.n, c.toks = n, append(make([]int32, 0, n), prompt[:n]...)
	return c, n, nil
}

// partial returns the indexed child of parent sharing the longest start
// with toks, and the length of that start (0 for none). p.mu held.
func (p *KVPool) partial(parent *kvBlock, toks []int32) (*kvBlock, int) {
	var best *kvBlock
	m := 0
	for _, k := range parent.kids {
		if !k.indexed || k.parent != parent || k.parentGen != parent.gen {
			continue
		}
		if n := commonLen(k.toks, toks); n > m {
			best, m = k, n
		}
	}
	return best, m
}

func commonLen(a, b []int32) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// lookup returns the indexed blocks holding the longest run of full blocks
// of toks, with their chained hashes. Each block is checked against its
// tokens and its predecessor, so a hash collision never matches.
func (p *KVPool) lookup(toks []int32, long bool) ([]*kvBlock, []uint64) {
	var out []*kvBlock
	var hashes []uint64
	var prev *kvBlock
	h := seedHash(long)
	for lo := 0; lo+p.bs <= len(toks); lo += p.bs {
		chunk := toks[lo : lo+p.bs]
		h = chainHash(h, chunk)
		b := p.index[h]
		if b == nil || b.long != long || b.parent != prev || (prev != nil && b.parentGen != prev.gen) || !slices.Equal(b.toks, chunk) {
			break
		}
		out = append(out, b)
		hashes = append(hashes, h)
		prev = b
	}
	return out, hashes
}

// acquire adds a reference to b. p.mu held.
func (p *KVPool) acquire(b *kvBlock) {
	if b.refs == 0 {
		p.used++
		if b.indexed {
			p.lru.remove(b)
			p.cached--
		}
	}
	b.refs++
}

// take returns a new block for c, with one reference, from c's reserved
// budget when it has one. p.mu held; the caller checked room with canTake.
func (p *KVPool) take(c *Cache) *kvBlock {
	if c.budget > 0 {
		c.budget--
		p.reserved--
		c.tookReserved++
	}
	var b *kvBlock
	switch {
	case len(p.free) > 0:
		b = p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
	case p.max == 0 || p.live < p.max || p.lru.head == nil:
		b = &kvBlock{data: make([]float32, p.floats)}
		p.live++
	default:
		b = p.lru.head
		p.lru.remove(b)
		p.cached--
		p.unindex(b)
	}
	b.refs = 1
	p.used++
	return b
}

// canTake reports whether c may take k more blocks. p.mu held.
func (p *KVPool) canTake(c *Cache, k int) bool {
	if p.max == 0 {
		return true
	}
	extra := k - min(k, c.budget) // blocks beyond the reservation
	return p.used+p.reserved+extra <= p.max
}

// release drops one reference to b. p.mu held.
func (p *KVPool) release(b *kvBlock) {
	b.refs--
	if b.refs > 0 {
		return
	}
	p.used--
	if b.indexed {
		p.lru.pushBack(b)
		p.cached++
		for p.max == 0 && p.cached > p.idle {
			old := p.lru.head
			p.lru.remove(old)
			p.cached--
			p.unindex(old)
			p.drop(old)
		}
		return
	}
	p.drop(b)
}

// drop keeps b's storage for reuse up to the idle limit, else frees it.
// p.mu held; b is unreferenced and not indexed.
func (p *KVPool) drop(b *kvBlock) {
	b.gen++
	if len(p.free) < p.idle {
		p.free = append(p.free, b)
		return
	}
	b.data = nil
	p.live--
}

// unindex removes b from the prefix index. p.mu held.
func (p *KVPool) unindex(b *kvBlock) {
	if len(b.toks) == p.bs && p.index[b.hash] == b {
		delete(p.index, b.hash)
	}
	if par := b.parent; par != nil && par.gen == b.parentGen {
		if i := slices.Index(par.kids, b); i >= 0 {
			par.kids = slices.Delete(par.kids, i, i+1)
		}
	}
	b.indexed, b.toks, b.parent, b.kids = false, nil, nil, nil
	b.gen++
}

// register indexes the full blocks of c not yet hashed (c.hashes shorter
// than its full blocks). A block whose hash is already indexed stays
// private to c.
func (p *KVPool) register(c *Cache) {
	full := c.n / p.bs
	if !p.prefix || len(c.hashes) >= full {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	h := seedHash(c.long)
	if k := len(c.hashes); k > 0 {
		h = c.hashes[k-1]
	}
	for i := len(c.hashes); i < full; i++ {
		chunk := c.toks[i*p.bs : (i+1)*p.bs]
		h = chainHash(h, chunk)
		c.hashes = append(c.hashes, h)
		b := c.blocks[i]
		if b.indexed || p.index[h] != nil {
			continue
		}
		var parent *kvBlock
		if i > 0 {
			parent = c.blocks[i-1]
		}
		if parent != nil && !parent.indexed {
			continue // unreachable by lookup
		}
		b.indexed, b.hash, b.toks, b.long = true, h, slices.Clone(chunk), c.long
		b.parent = parent
		if parent != nil {
			b.parentGen = parent.gen
			parent.kids = append(parent.kids, b)
		}
		p.index[h] = b
	}
}

// keepTail makes the partly filled last block of a cache being released a
// cached child of its (indexed) predecessor, so a later prompt continuing
// the same tokens copies its rows instead of recomputing them. It is never
// written again, and Admit only copies from it. p.mu held.
func (p *KVPool) keepTail(c *Cache) {
	k := c.n / p.bs
	if !p.prefix || c.n%p.bs == 0 || k == 0 || k >= len(c.blocks) {
		return
	}
	b, parent := c.blocks[k], c.blocks[k-1]
	if b.refs != 1 || b.indexed || !parent.indexed {
		return
	}
	toks := c.toks[k*p.bs : c.n]
	if _, m := p.partial(parent, toks); m == len(toks) {
		return // an equal or longer continuation is cached already
	}
	b.indexed, b.hash, b.toks, b.long = true, 0, slices.Clone(toks), c.long
	b.parent, b.parentGen = parent, parent.gen
	parent.kids = append(parent.kids, b)
}

// seedHash starts a chain; the rope factor set changes every K row.
func seedHash(long bool) uint64 {
	if long {
		return 0x9e3779b97f4a7c15
	}
	return 0x6a09e667f3bcc909
}

// chainHash mixes the tokens of one block into the hash of the blocks
// before it (splitmix64 finaliser per token).
func chainHash(h uint64, toks []int32) uint64 {
	for _, t := range toks {
		h ^= uint64(uint32(t)) + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
		h ^= h >> 30
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 27
		h *= 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}

// kvList is an intrusive doubly linked list of blocks.
type kvList struct{ head, tail *kvBlock }

func (l *kvList) pushBack(b *kvBlock) {
	b.prev, b.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = b
	} else {
		l.head = b
	}
	l.tail = b
}

func (l *kvList) remove(b *kvBlock) {
	if b.prev != nil {
		b.prev.next = b.next
	} else {
		l.head = b.next
	}
	if b.next != nil {
		b.next.prev = b.prev
	} else {
		l.tail = b.prev
	}
	b.prev, b.next = nil, nil
}
