package sched

import (
	"fmt"
	"time"

	"maas/internal/engine/sample"
)

// isolate handles a failed step: with one sequence it fails it; with
// several it runs each sequence's rows alone (the model leaves caches
// unchanged on error) so that only the failing ones are failed.
func (s *Scheduler) isolate(b *Batch, step []*seq, out []float32, err error) {
	if len(step) == 1 {
		s.finish(step[0], FinishError, fmt.Errorf("sched: forward step: %w", err))
		return
	}
	var one Batch
	for k, q := range step {
		one.reset()
		row := -1
		for i := range b.Tokens {
			if b.Seq[i] != k {
				continue
			}
			one.add(b.Tokens[i], b.Pos[i], 0, b.Logits[i])
			if b.Logits[i] {
				row = 0
			}
		}
		q.nPast -= one.Len()
		if err := s.forward(&one, []Cache{q.cache}, out); err != nil {
			s.finish(q, FinishError, fmt.Errorf("sched: forward step: %w", err))
			continue
		}
		q.nPast += one.Len()
		if row >= 0 {
			s.advance(q, out[:s.vocab])
		}
	}
}

// plan fills b: first one decode row for every running sequence, then
// prompt chunks, oldest request first, within MaxBatch rows. It returns the
// sequences in the step; each gets row = its logits row or -1, and nPast as
// it will be once the step has run.
func (s *Scheduler) plan(active []*seq, b *Batch, caches *[]Cache) []*seq {
	var step []*seq
	rows := 0
	add := func(q *seq) int {
		*caches = append(*caches, q.cache)
		step = append(step, q)
		return len(*caches) - 1
	}
	for _, q := range active {
		q.row = -1
		if q.pending < 0 {
			continue
		}
		b.add(q.pending, int32(q.nPast), add(q), true)
		q.nPast++
		q.row = rows
		rows++
	}
	// Prompt rows: a full batch when nobody is decoding; otherwise a chunk,
	// so that a long prompt delays the running streams by one short step.
	budget := s.opts.MaxBatch - b.Len()
	if b.Len() > 0 {
		budget = min(budget, s.opts.ChunkSize)
	}
	for _, q := range active {
		if q.pending >= 0 || budget <= 0 {
			continue
		}
		n := min(len(q.req.Prompt)-q.nPast, budget)
		i := add(q)
		for range n {
			pos := q.nPast
			last := pos == len(q.req.Prompt)-1
			b.add(q.req.Prompt[pos], int32(pos), i, last)
			q.nPast++
			if last {
				q.row = rows
				rows++
			}
		}
		budget -= n
	}
	return step
}

// advance samples the next token of q from its logits row and emits it.
func (s *Scheduler) advance(q *seq, logits []float32) {
	if q.pending >= 0 {
		q.pending = -1 // now in the cache
	}
	r, err := q.sampler.Sample(logits)
	if err != nil {
		s.finish(q, FinishError, fmt.Errorf("sched: sample: %w", err))
		return
	}
	id := r.ID
	q.sampler.Accept(id)
	q.out = append(q.out, id)
	q.generated++
	if q.generated == 1 {
		q.firstTok = time.Now()
	}
	s.mu.Lock()
	s.stats.GeneratedTokens++
	if q.generated == 1 {
		s.stats.PromptTokens += int64(len(q.req.Prompt))
	}
	s.mu.Unlock()

	ev := Event{Tokens: []int32{id}}
	if q.req.Sampling.Logprobs || q.req.Sampling.TopLogprobs > 0 {
		ev.Logprobs = []sample.Result{r}
	}
	eog := !q.req.IgnoreEOS && s.tok.IsEOG(id)
	if !eog {
		text, stopped := q.stop.Push(s.trim(q, q.dec.Push(id)))
		ev.Text = text
		if stopped {
			s.emitDone(q, ev, FinishStop, false)
			return
		}
	}
	switch {
	case eog:
		s.emitDone(q, ev, FinishStop, true)
	case q.req.MaxTokens > 0 && q.generated >= q.req.MaxTokens:
		s.emitDone(q, ev, FinishLength, true)
	case q.nPast >= s.opts.ContextLen:
		s.emitDone(q, ev, FinishLength, true) // no position left to feed id
	default:
		q.pending = id
		q.stream.push(ev)
	}
}

// trim drops the first emitted byte when it is a space and the request
// asked for it.
func (s *Scheduler) trim(q *seq, text string) string {
	if !q.leading || text == "" {
		return text
	}
	q.leading = false
	if q.req.TrimLeadingSpace && text[0] == ' ' {
		return text[1:]
	}
	return text
}

// emitDone sends ev as the final event and releases the sequence. With
// flush, the decoder's and matcher's held-back text is appended first (not
// after a stop string, whose remainder is dropped).
func (s *Scheduler) emitDone(q *seq, ev Event, reason string, flush bool) {
	if flush {
		rest, stopped := q.stop.Push(s.trim(q, q.dec.Flush()))
		ev.Text += rest
		if !stopped {
			ev.Text += q.stop.Flush()
		}
	}
	s.release(q, true)
	s.fillFinal(q, &ev, reason, nil)
	q.stream.push(ev)
}

// finish ends q without a new token (cancellation, errors, close).
func (s *Scheduler) finish(q *seq, reason string, err error) {
	s.release(q, reason != FinishError)
	s.emitFinal(q, reason, err)
}

func (s *Scheduler) emitFinal(q *seq, reason string, err error) {
	var ev Event
	s.fillFinal(q, &ev, reason, err)
	q.stream.push(ev)
}

func (s *Scheduler) fillFinal(q *seq, ev *Event, reason string, err error) {
	now := time.Now()
	ev.Done = true
	ev.FinishReason = reason
	ev.Err = err
	ev.PromptTokens = len(q.req.Prompt)
	ev.CompletionTokens = q.generated
	if !q.firstTok.IsZero() {
		ev.TimeToFirstToken = q.firstTok.Sub(q.submitted)
	}
	if !q.joined.IsZero() {
		ev.QueueTime = q.joined.Sub(q.submitted)
	} else {
		ev.QueueTime = now.Sub(q.submitted)
	}
	ev.TotalTime = now.Sub(q.submitted)
	s.mu.Lock()
	if reason == FinishError {
		s.stats.Failures++
	} else {
		s.stats.Completed++
	}
	s.mu.Unlock()
}

// release takes q's cache away from it (once): into the prefix pool when
// it is reusable (the sequence did not fail), released otherwise.
func (s *Scheduler) release(q *seq, reusable bool) {
	if q.cache == nil {
		return
	}
	c := q.cache
	q.cache = nil
	s.reserved -= q.need
	if reusable && s.prefix.max > 0 && q.nPast >= minPrefix {
		hist := make([]int32, 0, q.nPast)
		hist = append(hist, q.req.Prompt[:min(q.nPast, len(q.req.Prompt))]...)
		if rest := q.nPast - len(hist); rest > 0 {
			hist = append(hist, q.out[:rest]...)
		}
		for _, e := range s.prefix.put(c, hist) {
			s.releaseCache(e.cache)
		}
	} else {
		s.releaseCache(c)
	}
	s.mu.Lock()
	s.stats.ReservedTokens, s.stats.KeptTokens = s.reserved, s.prefix.tokens
	s.stats.Active = max(s.stats.Active-1, 0) // before the final event is delivered
	s.mu.Unlock()
}

// releaseCache calls Release, ignoring a panic.
func (s *Scheduler) releaseCache(c Cache) {
	defer func() { _ = recover() }()
	c.Release()
}
