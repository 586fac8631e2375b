package phi3

import (
	"sync"
	"sync/atomic"
)

// task is a unit of parallel work over an index range [lo, hi); worker is in
// [0, threads) and selects per-worker scratch.
type task interface {
	run(worker, lo, hi int)
}

// pool is a fixed set of worker goroutines started once per Model. run hands
// out chunks of an index range through an atomic counter; the caller's
// goroutine works as worker 0. run must not be called concurrently.
type pool struct {
	threads int
	wake    []chan struct{} // one per extra worker
	done    sync.WaitGroup
	cur     task
	n       int
	chunk   int
	next    atomic.Int64
}

func newPool(threads int) *pool {
	p := &pool{threads: max(threads, 1)}
	p.wake = make([]chan struct{}, p.threads-1)
	for i := range p.wake {
		c := make(chan struct{}, 1)
		p.wake[i] = c
		go func(w int) {
			for range c {
				p.work(w)
				p.done.Done()
			}
		}(i + 1)
	}
	return p
}

// run calls t.run over [0, n) in chunks of at least minChunk indices.
func (p *pool) run(t task, n, minChunk int) {
	if n <= 0 {
		return
	}
	if p.threads == 1 || n <= minChunk {
		t.run(0, 0, n)
		return
	}
	p.cur, p.n = t, n
	// About four chunks per worker balances uneven rows without much
	// contention; chunks are multiples of minChunk (whole kernel tiles).
	p.chunk = (max(minChunk, (n+4*p.threads-1)/(4*p.threads)) + minChunk - 1) / minChunk * minChunk
	p.next.Store(0)
	p.done.Add(len(p.wake))
	for _, c := range p.wake {
		c <- struct{}{}
	}
	p.work(0)
	p.done.Wait()
	p.cur = nil
}

func (p *pool) work(w int) {
	for {
		hi := int(p.next.Add(int64(p.chunk)))
		lo := hi - p.chunk
		if lo >= p.n {
			return
		}
		p.cur.run(w, lo, min(hi, p.n))
	}
}

// close stops the workers; the pool must not be used afterwards.
func (p *pool) close() {
	for _, c := range p.wake {
		close(c)
	}
	p.wake = nil
	p.threads = 1
}
