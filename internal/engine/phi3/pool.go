package phi3

import (
	"runtime"
	"sync/atomic"
	"time"
)

// task is a unit of parallel work over an index range [lo, hi); worker is in
// [0, threads) and selects per-worker scratch.
type task interface {
	run(worker, lo, hi int)
}

// pool is a fixed set of worker goroutines started once per Model. run hands
// out chunks of an index range through an atomic counter; the caller's
// goroutine works as worker 0. run must not be called concurrently.
//
// A forward pass calls run a few hundred times per token, about a
// millisecond apart, so between runs the workers (and run, waiting for
// them) spin for up to spinFor before they block: waking a goroutine parked
// in the kernel costs tens of microseconds on a VM, each time.
type pool struct {
	threads int
	wake    []chan struct{} // one per extra worker, buffered: the wake-up token
	parked  []atomic.Bool   // worker i+1 is blocked (or about to block) on wake[i]
	gen     atomic.Uint64   // bumped by run once the task is published
	pending atomic.Int32    // extra workers not done with the current task
	closed  atomic.Bool

	cur   task
	n     int
	chunk int
	next  atomic.Int64
}

// spinFor is how long an idle worker polls for the next task before it
// blocks.
const spinFor = 200 * time.Microsecond

func newPool(threads int) *pool {
	p := &pool{threads: max(threads, 1)}
	p.wake = make([]chan struct{}, p.threads-1)
	p.parked = make([]atomic.Bool, p.threads-1)
	for i := range p.wake {
		p.wake[i] = make(chan struct{}, 1)
		go p.worker(i, p.wake[i])
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
	p.pending.Store(int32(len(p.wake)))
	p.gen.Add(1) // publishes cur, n, chunk and next to the workers
	for i := range p.wake {
		if p.parked[i].CompareAndSwap(true, false) {
			p.wake[i] <- struct{}{}
		}
	}
	p.work(0)
	for spins := 0; p.pending.Load() != 0; spins++ {
		if spins&255 == 255 {
			runtime.Gosched()
		}
	}
	p.cur = nil
}

// worker runs each task published by run as worker i+1, spinning between
// tasks for up to spinFor and then blocking on wake (wake[i]).
func (p *pool) worker(i int, wake <-chan struct{}) {
	var seen uint64 // newPool starts the workers before any run
	for {
		g := p.await(i, wake, seen)
		if g == seen {
			return // closed
		}
		seen = g
		p.work(i + 1)
		p.pending.Add(-1)
	}
}

// await returns the generation of the next task after seen, or seen once
// the pool is closed.
func (p *pool) await(i int, wake <-chan struct{}, seen uint64) uint64 {
	deadline := time.Now().Add(spinFor)
	for spins := 0; ; spins++ {
		if g := p.gen.Load(); g != seen {
			return g
		}
		if p.closed.Load() {
			return seen
		}
		if spins&1023 == 1023 {
			if time.Now().After(deadline) {
				break
			}
			runtime.Gosched()
		}
	}
	// Park. run clears parked and sends a token only if it sees parked set
	// after publishing; if it raced with us, the token is ours to take.
	p.parked[i].Store(true)
	if g := p.gen.Load(); g != seen {
		if !p.parked[i].CompareAndSwap(true, false) {
			<-wake
		}
		return g
	}
	if _, ok := <-wake; !ok {
		return seen
	}
	return p.gen.Load()
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
	p.closed.Store(true)
	for _, c := range p.wake {
		close(c)
	}
	p.wake = nil
	p.threads = 1
}
