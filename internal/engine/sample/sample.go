// Package sample picks the next token from a row of logits: greedy (ties to
// the lower id), temperature, top-k, top-p, min-p, a per-request seeded RNG,
// presence and frequency penalties, logit bias and log-probabilities. It also
// matches stop strings across token boundaries (stop.go).
//
// A Sampler belongs to one sequence and reuses its vocabulary-sized buffers,
// so sampling a token allocates nothing at vocabulary size. The package
// imports only the standard library; engine/sched uses it.
package sample

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// MaxTopLogprobs is the largest TopLogprobs accepted (OpenAI's limit).
const MaxTopLogprobs = 20

// Params are the sampling settings of one request.
type Params struct {
	Temperature float32 // 0 means greedy; otherwise logits are divided by it
	TopK        int     // keep the K most likely tokens; 0 means off
	TopP        float32 // keep the smallest set with probability >= TopP; 0 or 1 means off
	MinP        float32 // drop tokens with p < MinP * p(max); 0 means off
	Seed        int64   // RNG seed; negative means a random seed

	PresencePenalty  float32           // subtracted once from every token generated so far, in [-2, 2]
	FrequencyPenalty float32           // subtracted per occurrence of a generated token, in [-2, 2]
	LogitBias        map[int32]float32 // added to a token's logit, each in [-100, 100]

	Logprobs    bool // report the chosen token's log-probability
	TopLogprobs int  // also report this many most likely tokens, 0..MaxTopLogprobs
}

// Validate checks p against a vocabulary of n tokens.
func (p Params) Validate(n int) error {
	switch {
	case math.IsNaN(float64(p.Temperature)) || p.Temperature < 0:
		return fmt.Errorf("sample: temperature %v must be >= 0", p.Temperature)
	case p.TopK < 0:
		return fmt.Errorf("sample: top_k %d must be >= 0", p.TopK)
	case !(p.TopP >= 0 && p.TopP <= 1):
		return fmt.Errorf("sample: top_p %v must be in [0, 1]", p.TopP)
	case !(p.MinP >= 0 && p.MinP <= 1):
		return fmt.Errorf("sample: min_p %v must be in [0, 1]", p.MinP)
	case !(p.PresencePenalty >= -2 && p.PresencePenalty <= 2):
		return fmt.Errorf("sample: presence_penalty %v must be in [-2, 2]", p.PresencePenalty)
	case !(p.FrequencyPenalty >= -2 && p.FrequencyPenalty <= 2):
		return fmt.Errorf("sample: frequency_penalty %v must be in [-2, 2]", p.FrequencyPenalty)
	case p.TopLogprobs < 0 || p.TopLogprobs > MaxTopLogprobs:
		return fmt.Errorf("sample: top_logprobs %d must be in [0, %d]", p.TopLogprobs, MaxTopLogprobs)
	}
	for id, b := range p.LogitBias {
		if id < 0 || int(id) >= n {
			return fmt.Errorf("sample: logit_bias token %d outside vocabulary of %d", id, n)
		}
		if !(b >= -100 && b <= 100) {
			return fmt.Errorf("sample: logit_bias %v for token %d must be in [-100, 100]", b, id)
		}
	}
	return nil
}

// TokenLogprob is a token with its log-probability (natural log).
type TokenLogprob struct {
	ID      int32
	Logprob float32
}

// Result is one sampled token.
type Result struct {
	ID      int32
	Logprob float32        // set when Params.Logprobs or TopLogprobs > 0
	Top     []TokenLogprob // the TopLogprobs most likely tokens, most likely first
}

// ErrBadLogits is returned when a logits row holds NaN or has no finite value.
var ErrBadLogits = errors.New("sample: logits contain NaN or no finite value")

// Sampler samples one sequence's tokens. Not safe for concurrent use.
type Sampler struct {
	p      Params
	n      int
	rng    *rand.Rand
	counts map[int32]int32 // occurrences of each generated token
	buf    []float32       // (n) adjusted logits
	wts    []float64       // (n) unnormalised probabilities exp((l-max)/T)
	idx    []int32         // candidate ids, capacity n
	heap   []int32         // top-N selection scratch
	pairs  []pair          // (n) full-sort scratch, made on first use
	wp     []wpair         // (n) nucleus scratch, made on first use
}

type wpair struct {
	w  float64
	id int32
}

type pair struct {
	v  float32
	id int32
}

// New returns a sampler for a vocabulary of n tokens.
func New(p Params, n int) (*Sampler, error) {
	if n <= 0 {
		return nil, fmt.Errorf("sample: vocabulary size %d", n)
	}
	if err := p.Validate(n); err != nil {
		return nil, err
	}
	seed := uint64(p.Seed)
	if p.Seed < 0 {
		seed = rand.Uint64()
	}
	return &Sampler{
		p:      p,
		n:      n,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		counts: map[int32]int32{},
		buf:    make([]float32, n),
		wts:    make([]float64, n),
		idx:    make([]int32, 0, n),
	}, nil
}

// Accept records a generated token for the penalties. The scheduler calls it
// for every token it appends, sampled or forced.
func (s *Sampler) Accept(id int32) {
	if s.p.PresencePenalty != 0 || s.p.FrequencyPenalty != 0 {
		s.counts[id]++
	}
}

// Sample picks a token from logits (length n). The logits are not modified.
// Order: bias and penalties, then (logprobs are taken here) temperature,
// top-k, top-p and min-p, then a draw from what is left.
func (s *Sampler) Sample(logits []float32) (Result, error) {
	if len(logits) != s.n {
		return Result{}, fmt.Errorf("sample: %d logits for a vocabulary of %d", len(logits), s.n)
	}
	buf := s.buf
	copy(buf, logits)
	for id, b := range s.p.LogitBias {
		buf[id] += b
	}
	for id, c := range s.counts {
		if id >= 0 && int(id) < s.n {
			buf[id] -= float32(c)*s.p.FrequencyPenalty + s.p.PresencePenalty
		}
	}
	best, maxv := int32(-1), float32(math.Inf(-1))
	for i, v := range buf {
		if v != v {
			return Result{}, ErrBadLogits
		}
		if v > maxv {
			best, maxv = int32(i), v
		}
	}
	if best < 0 || math.IsInf(float64(maxv), 1) {
		return Result{}, ErrBadLogits
	}
	var lse float64
	if s.p.Logprobs || s.p.TopLogprobs > 0 {
		lse = logSumExp(buf, maxv)
	}
	var r Result
	if s.p.Temperature == 0 || s.p.TopK == 1 {
		r.ID = best
	} else {
		r.ID = s.draw(buf, maxv)
	}
	if s.p.Logprobs || s.p.TopLogprobs > 0 {
		r.Logprob = float32(float64(buf[r.ID]) - lse)
		if k := s.p.TopLogprobs; k > 0 {
			top := s.topN(buf, k)
			r.Top = make([]TokenLogprob, len(top))
			for i, id := range top {
				r.Top[i] = TokenLogprob{ID: id, Logprob: float32(float64(buf[id]) - lse)}
			}
		}
	}
	return r, nil
}

// draw samples from buf (adjusted logits, max maxv) with temperature and
// truncation. buf is left unchanged.
func (s *Sampler) draw(buf []float32, maxv float32) int32 {
	invT := 1 / float64(s.p.Temperature)
	var total float64
	for i, v := range buf {
		e := math.Exp(float64(v-maxv) * invT)
		s.wts[i] = e
		total += e
	}
	w := func(id int32) float64 { return s.wts[id] }
	topP := s.p.TopP > 0 && s.p.TopP < 1
	k := s.p.TopK
	if k <= 0 || k > s.n {
		k = s.n
	}
	if k == s.n && !topP && s.p.MinP == 0 {
		// Untruncated: draw over the whole vocabulary in id order.
		u := s.rng.Float64() * total
		for i := range buf {
			u -= s.wts[i]
			if u < 0 {
				return int32(i)
			}
		}
		return int32(len(buf) - 1)
	}
	// Candidates sorted by logit; with top-p, widen the top-N window until it
	// holds enough mass (exact, and usually far from the whole vocabulary).
	var cand []int32
	for n := min(k, 64); ; n = min(k, n*n) {
		cand = s.topN(buf, n)
		if !topP || n == k {
			break
		}
		var mass float64
		for _, id := range cand {
			mass += w(id)
		}
		if mass >= float64(s.p.TopP)*total {
			break
		}
		if k == s.n {
			// A flat distribution: select the nucleus without sorting.
			return s.drawFrom(s.nucleus(float64(s.p.TopP) * total))
		}
	}
	if k < s.n && topP {
		total = 0 // top-p is relative to what top-k kept
		for _, id := range cand {
			total += w(id)
		}
	}
	keep := len(cand)
	if topP {
		var cum float64
		for i, id := range cand {
			cum += w(id)
			if cum >= float64(s.p.TopP)*total {
				keep = i + 1
				break
			}
		}
	}
	if s.p.MinP > 0 {
		floor := float64(s.p.MinP) * w(cand[0])
		for keep > 1 && w(cand[keep-1]) < floor {
			keep--
		}
	}
	return s.drawFrom(cand[:keep])
}

// drawFrom draws one of cand with probability proportional to its weight.
func (s *Sampler) drawFrom(cand []int32) int32 {
	w := func(id int32) float64 { return s.wts[id] }
	var sum float64
	for _, id := range cand {
		sum += w(id)
	}
	u := s.rng.Float64() * sum
	for _, id := range cand {
		u -= w(id)
		if u < 0 {
			return id
		}
	}
	return cand[len(cand)-1]
}

// nucleus returns the smallest set of ids (lower ids first among ties) whose
// weights s.wts sum to at least target, in no particular but deterministic
// order, by three-way quickselect on weight: O(n) expected, no sort. With
// min-p set, ids below MinP times the top weight (1) are left out.
func (s *Sampler) nucleus(target float64) []int32 {
	if s.wp == nil {
		s.wp = make([]wpair, s.n)
	}
	a := s.wp[:0]
	for i, x := range s.wts {
		if x > 0 && x >= float64(s.p.MinP) {
			a = append(a, wpair{x, int32(i)})
		}
	}
	lo, hi := 0, len(a)
	var acc float64 // weight of a[:lo], all taken
	for hi-lo > 1 {
		x, y, z := a[lo].w, a[lo+(hi-lo)/2].w, a[hi-1].w
		pivot := max(min(x, y), min(max(x, y), z)) // median of three
		// Partition a[lo:hi] into > pivot [lo:gt), == pivot [gt:lt), < pivot [lt:hi).
		gt, i, lt := lo, lo, hi
		var above, equal float64
		for i < lt {
			switch v := a[i].w; {
			case v > pivot:
				above += v
				a[gt], a[i] = a[i], a[gt]
				gt++
				i++
			case v < pivot:
				lt--
				a[lt], a[i] = a[i], a[lt]
			default:
				equal += v
				i++
			}
		}
		switch {
		case acc+above >= target:
			hi = gt
		case acc+above+equal >= target:
			// Take just enough of the tied weights, lower ids first.
			slices.SortFunc(a[gt:lt], func(p, q wpair) int { return cmp.Compare(p.id, q.id) })
			c := int(math.Ceil((target - acc - above) / pivot))
			c = min(max(c, 1), lt-gt)
			lo, hi, acc = gt+c, gt+c, target
		default:
			acc += above + equal
			lo = lt
		}
	}
	if lo < hi && acc < target {
		lo++
	}
	lo = max(lo, 1)
	ids := s.idx[:0]
	for _, p := range a[:lo] {
		ids = append(ids, p.id)
	}
	s.idx = ids
	return ids
}

// topN returns the n highest-valued ids of buf, highest first, ties to the
// lower id. The result aliases s.idx and is valid until the next call.
func (s *Sampler) topN(buf []float32, n int) []int32 {
	better := func(a, b int32) int { // <0 when a ranks before b
		if c := cmp.Compare(buf[b], buf[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	n = min(n, len(buf))
	idx := s.idx[:0]
	if n*4 >= len(buf) {
		if s.pairs == nil {
			s.pairs = make([]pair, len(buf))
		}
		for i, v := range buf {
			s.pairs[i] = pair{v, int32(i)}
		}
		slices.SortFunc(s.pairs, func(a, b pair) int {
			if a.v != b.v {
				if a.v > b.v {
					return -1
				}
				return 1
			}
			return int(a.id - b.id)
		})
		for _, p := range s.pairs[:n] {
			idx = append(idx, p.id)
		}
		s.idx = idx
		return idx
	}
	// Min-heap (worst at the root) of the n best seen so far.
	h := s.heap[:0]
	worse := func(i, j int) bool { return better(h[i], h[j]) > 0 }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			m := l
			if r := l + 1; r < len(h) && worse(r, l) {
				m = r
			}
			if !worse(m, i) {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for i := range buf {
		id := int32(i)
		if len(h) < n {
			h = append(h, id)
			for j := len(h) - 1; j > 0; {
				p := (j - 1) / 2
				if !worse(j, p) {
					break
				}
				h[j], h[p] = h[p], h[j]
				j = p
			}
			continue
		}
		if better(id, h[0]) < 0 {
			h[0] = id
			down(0)
		}
	}
	s.heap = h
	idx = append(idx, h...)
	slices.SortFunc(idx, better)
	s.idx = idx
	return idx
}

// logSumExp returns log(sum(exp(v))) for v with maximum maxv.
func logSumExp(v []float32, maxv float32) float64 {
	var sum float64
	for _, x := range v {
		sum += math.Exp(float64(x - maxv))
	}
	return float64(maxv) + math.Log(sum)
}
