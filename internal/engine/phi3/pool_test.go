package phi3

import (
	"sync/atomic"
	"testing"
	"time"
)

type countTask struct {
	hits    []atomic.Int32
	workers []atomic.Int32
}

func (c *countTask) run(worker, lo, hi int) {
	c.workers[worker].Add(1)
	for i := lo; i < hi; i++ {
		c.hits[i].Add(1)
	}
}

// Every index is run exactly once per run, whether the workers are spinning
// (runs back to back) or parked (runs spinFor apart), and close stops both.
func TestPoolRunsEveryIndexOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 5} {
		p := newPool(threads)
		for r := range 300 {
			n := 1 + r*37%1000
			c := &countTask{hits: make([]atomic.Int32, n), workers: make([]atomic.Int32, threads)}
			p.run(c, n, 1+r%16)
			for i := range c.hits {
				if got := c.hits[i].Load(); got != 1 {
					t.Fatalf("threads %d run %d: index %d ran %d times", threads, r, i, got)
				}
			}
			if r%50 == 49 {
				time.Sleep(2 * spinFor) // let the workers park
			}
		}
		p.close()
	}
}

// Parked workers wake for the next run: all of them take part in a run
// with many more chunks than workers once each chunk takes a while.
func TestPoolWakesParkedWorkers(t *testing.T) {
	const threads = 3
	p := newPool(threads)
	defer p.close()
	for range 3 {
		time.Sleep(3 * spinFor)
		c := &countTask{hits: make([]atomic.Int32, 64), workers: make([]atomic.Int32, threads)}
		p.run(slowTask{c}, 64, 1)
		for w := range threads {
			if c.workers[w].Load() == 0 {
				t.Errorf("worker %d took no chunk of 64 after parking", w)
			}
		}
	}
}

type slowTask struct{ c *countTask }

func (s slowTask) run(worker, lo, hi int) {
	time.Sleep(2 * time.Millisecond)
	s.c.run(worker, lo, hi)
}
