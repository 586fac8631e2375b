package sched

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"
)

// admit moves waiting requests into free slots, fairest tenant first, and
// reports whether the scheduler is closed.
func (s *Scheduler) admit(active *[]*seq) bool {
	// Waiting requests whose context ended leave the queue now.
	s.mu.Lock()
	var gone []*seq
	s.queue = slices.DeleteFunc(s.queue, func(q *seq) bool {
		if q.ctx.Err() != nil {
			gone = append(gone, q)
			return true
		}
		return false
	})
	s.mu.Unlock()
	for _, q := range gone {
		s.emitFinal(q, FinishCancelled, nil)
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return true
		}
		if len(*active) >= s.opts.MaxSeqs || len(s.queue) == 0 {
			s.stats.Active, s.stats.Queued = len(*active), len(s.queue)
			s.mu.Unlock()
			return false
		}
		running := map[string]int{}
		for _, q := range *active {
			running[q.req.Tenant]++
		}
		pick := 0
		for i, q := range s.queue {
			if running[q.req.Tenant] < running[s.queue[pick].req.Tenant] {
				pick = i
			}
		}
		q := s.queue[pick]
		if s.paged != nil && q.ctx.Err() == nil {
			s.mu.Unlock()
			err := s.admitPaged(q)
			if errors.Is(err, ErrCacheFull) {
				return false // wait for running sequences to release blocks
			}
			s.mu.Lock()
			s.queue = slices.DeleteFunc(s.queue, func(x *seq) bool { return x == q })
			s.mu.Unlock()
			if err != nil {
				s.emitFinal(q, FinishError, err)
				continue
			}
			s.join(q, active)
			continue
		}
		if q.ctx.Err() == nil && !s.makeRoom(q.need) {
			s.mu.Unlock()
			return false // wait for running sequences to leave
		}
		s.queue = slices.Delete(s.queue, pick, pick+1)
		s.mu.Unlock()

		if q.ctx.Err() != nil {
			s.emitFinal(q, FinishCancelled, nil)
			continue
		}
		if err := s.attachCache(q); err != nil {
			s.emitFinal(q, FinishError, err)
			continue
		}
		s.join(q, active)
	}
}

// join makes q, which holds its cache, a running sequence.
func (s *Scheduler) join(q *seq, active *[]*seq) {
	s.reserved += q.need
	s.mu.Lock()
	s.stats.ReservedTokens, s.stats.KeptTokens = s.reserved, s.prefix.tokens
	s.mu.Unlock()
	q.joined = time.Now()
	*active = append(*active, q)
}

// admitPaged asks the paged model for q's cache, holding the longest
// cached prefix of its prompt. ErrCacheFull (wrapped) means wait.
func (s *Scheduler) admitPaged(q *seq) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sched: allocate KV cache: panic: %v\n%s", r, debug.Stack())
		}
	}()
	c, n, err := s.paged.AdmitCache(s.opts.ContextLen, q.need, q.req.Prompt)
	switch {
	case errors.Is(err, ErrCacheFull):
		return err
	case err != nil:
		return fmt.Errorf("sched: allocate KV cache: %w", err)
	case n < 0 || n >= len(q.req.Prompt):
		s.releaseCache(c)
		return fmt.Errorf("sched: allocate KV cache: model reused %d of %d prompt positions", n, len(q.req.Prompt))
	}
	q.cache, q.nPast = c, n
	if n > 0 {
		s.mu.Lock()
		s.stats.PrefixHits++
		s.stats.PrefixTokens += int64(n)
		s.mu.Unlock()
	}
	return nil
}

// makeRoom evicts kept prefix caches until need more positions fit the
// budget, and reports whether they do.
func (s *Scheduler) makeRoom(need int) bool {
	b := s.opts.MaxCacheTokens
	if b <= 0 || s.paged != nil {
		return true
	}
	for s.reserved+s.prefix.tokens+need > b && len(s.prefix.entries) > 0 {
		s.releaseCache(s.prefix.evictOldest().cache)
	}
	return s.reserved+s.prefix.tokens+need <= b
}

// attachCache gives q a kept cache sharing its prompt's prefix, or a new one.
func (s *Scheduler) attachCache(q *seq) error {
	if e, common, ok := s.prefix.take(q.req.Prompt); ok {
		n := min(common, len(q.req.Prompt)-1) // recompute at least the last prompt token
		if err := truncate(e.cache, n); err == nil {
			q.cache, q.nPast = e.cache, n
			s.mu.Lock()
			s.stats.PrefixHits++
			s.stats.PrefixTokens += int64(n)
			s.mu.Unlock()
			return nil
		}
		s.releaseCache(e.cache)
	}
	c, err := s.newCache()
	if err != nil {
		return fmt.Errorf("sched: allocate KV cache: %w", err)
	}
	q.cache = c
	return nil
}

// truncate calls c.Truncate, turning a panic into an error.
func truncate(c Cache, n int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.Truncate(n)
}

// newCache calls the model, turning a panic into an error.
func (s *Scheduler) newCache() (c Cache, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return s.model.NewCache(s.opts.ContextLen)
}

// forward runs the model, turning a panic into an error.
func (s *Scheduler) forward(b *Batch, caches []Cache, out []float32) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return s.model.Forward(b, caches, out)
}

// drainQueue fails every waiting request after Close.
func (s *Scheduler) drainQueue() {
	s.mu.Lock()
	q := s.queue
	s.queue = nil
	s.stats.Queued = 0
	s.mu.Unlock()
	for _, x := range q {
		s.emitFinal(x, FinishError, ErrClosed)
	}
}

// dropCancelled finishes sequences whose context has ended.
func (s *Scheduler) dropCancelled(active []*seq) []*seq {
	return slices.DeleteFunc(active, func(q *seq) bool {
		if q.ctx.Err() == nil {
			return false
		}
		s.finish(q, FinishCancelled, nil)
		return true
	})
}
