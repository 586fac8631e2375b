package sched

// Prefix reuse: when a sequence ends, its cache (and the tokens it holds) is
// kept in a small least-recently-used pool instead of being released. A new
// request whose prompt starts with the same tokens (a shared system prompt,
// a chat history) takes that cache over, truncated to the common prefix, and
// only prefills the rest. A cache serves one sequence at a time, so a kept
// entry is consumed by the request that reuses it. Kept caches count against
// Options.MaxCacheTokens and are evicted first when running sequences need
// room. A PagedModel shares prefix blocks itself, between running sequences
// too; the scheduler then keeps no caches here.

// minPrefix is the shortest common prefix (in tokens) worth taking a kept
// cache for; shorter matches allocate a fresh cache and leave the entry.
const minPrefix = 16

// prefixEntry is a kept cache holding tokens at positions 0..len(tokens)-1.
type prefixEntry struct {
	cache  Cache
	tokens []int32
	used   int64 // step counter at which it was kept, for LRU
}

// prefixPool is owned by the loop goroutine; no locking.
type prefixPool struct {
	max       int // entries kept at most; 0 disables reuse
	maxTokens int // positions kept at most
	entries   []prefixEntry
	tokens    int // sum of len(tokens)
	clock     int64
}

// take removes and returns the entry sharing the longest prefix with prompt
// (at least minPrefix tokens), or ok=false.
func (p *prefixPool) take(prompt []int32) (e prefixEntry, common int, ok bool) {
	best := -1
	for i, x := range p.entries {
		n := commonPrefix(x.tokens, prompt)
		if n >= minPrefix && n > common {
			best, common = i, n
		}
	}
	if best < 0 {
		return prefixEntry{}, 0, false
	}
	e = p.entries[best]
	p.entries = append(p.entries[:best], p.entries[best+1:]...)
	p.tokens -= len(e.tokens)
	return e, common, true
}

// put keeps a cache; it returns the entries pushed out by the count limit,
// which the caller releases.
func (p *prefixPool) put(c Cache, tokens []int32) []prefixEntry {
	p.clock++
	p.entries = append(p.entries, prefixEntry{cache: c, tokens: tokens, used: p.clock})
	p.tokens += len(tokens)
	var out []prefixEntry
	for len(p.entries) > p.max || (p.tokens > p.maxTokens && len(p.entries) > 0) {
		out = append(out, p.evictOldest())
	}
	return out
}

// evictOldest removes the least recently kept entry (there must be one).
func (p *prefixPool) evictOldest() prefixEntry {
	old := 0
	for i, x := range p.entries {
		if x.used < p.entries[old].used {
			old = i
		}
	}
	e := p.entries[old]
	p.entries = append(p.entries[:old], p.entries[old+1:]...)
	p.tokens -= len(e.tokens)
	return e
}

func commonPrefix(a, b []int32) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
