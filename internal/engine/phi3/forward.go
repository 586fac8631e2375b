package phi3

import (
	"fmt"
	"math"

	"maas/internal/engine/kernels"
)

// Batch is one forward step: row i feeds token Tokens[i] at position Pos[i]
// of sequence Seq[i] (an index into the caches passed to Forward). The rows
// of each sequence must continue it in order: the k-th row of sequence s in
// the batch has position caches[s].Len()+k. Logits[i] asks for the logits of
// row i (nil asks for none).
type Batch struct {
	Tokens []int32
	Pos    []int32
	Seq    []int
	Logits []bool
}

// scratch is the working memory of a Model, sized for the largest batch
// seen (at most maxBatch rows), so a forward pass allocates nothing after
// warm-up.
type scratch struct {
	rows     int         // rows the buffers below hold
	x, h     []float32   // (B, E) residual stream, normalised input
	qkv      []float32   // (B, E+2*KVDim)
	att      []float32   // (B, E) attention output (heads concatenated)
	tmp      []float32   // (B, E) projection output
	up       []float32   // (B, 2F) gate then up
	act      []float32   // (B, F)
	xq       []byte      // (B, 4*max(E, F)) activations converted for a product
	cos, sin []float32   // (B, RopeDims/2)
	scores   [][]float32 // [worker] (longest sequence) attention scores
	logits   []float32   // (rows asked, Vocab), grown on demand
	sel      []int       // batch rows whose logits are asked, in order
	mat      matTask
	attn     attnTask
}

func (s *scratch) init(m *Model) {
	s.scores = make([][]float32, m.threads)
}

// ensure sizes the row buffers for batches of b rows. Buffers only grow,
// so steady-state forward passes allocate nothing, and a model that only
// decodes never holds prefill-sized buffers.
func (s *scratch) ensure(c *Config, b int) {
	if s.rows >= b {
		return
	}
	wide := max(c.Embd, c.FFN)
	s.rows = b
	s.x = make([]float32, b*c.Embd)
	s.h = make([]float32, b*c.Embd)
	s.qkv = make([]float32, b*(c.Embd+2*c.KVDim()))
	s.att = make([]float32, b*c.Embd)
	s.tmp = make([]float32, b*c.Embd)
	s.up = make([]float32, b*2*c.FFN)
	s.act = make([]float32, b*c.FFN)
	s.xq = make([]byte, b*actBytesPerValue*wide)
	s.cos = make([]float32, b*c.RopeDims/2)
	s.sin = make([]float32, b*c.RopeDims/2)
}

// Forward runs the batch and returns the logits of the rows whose Logits
// flag is set, in batch order: (rows asked, Vocab) row-major. The slice is
// reused by the next Forward call. A batch larger than Options.MaxBatch
// runs in consecutive chunks. The batch is validated before anything runs,
// so on error no cache is modified.
func (m *Model) Forward(b Batch, caches []*Cache) ([]float32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pool == nil {
		return nil, fmt.Errorf("phi3: forward: model is closed")
	}
	if err := m.check(b, caches); err != nil {
		return nil, err
	}
	if err := m.growCaches(b, caches); err != nil {
		return nil, err
	}
	s := &m.s
	s.sel = s.sel[:0]
	for i := range b.Tokens {
		if b.Logits != nil && b.Logits[i] {
			s.sel = append(s.sel, i)
		}
	}
	v := m.Config.Vocab
	if cap(s.logits) < len(s.sel)*v {
		s.logits = make([]float32, len(s.sel)*v)
	}
	out := s.logits[:len(s.sel)*v]
	done := 0
	for lo := 0; lo < len(b.Tokens); lo += m.maxBatch {
		hi := min(lo+m.maxBatch, len(b.Tokens))
		chunk := Batch{Tokens: b.Tokens[lo:hi], Pos: b.Pos[lo:hi], Seq: b.Seq[lo:hi]}
		if b.Logits != nil {
			chunk.Logits = b.Logits[lo:hi]
		}
		done += m.forward(chunk, caches, out[done*v:])
	}
	for _, s := range b.Seq {
		if c := caches[s]; c.pending > 0 {
			c.pending = 0
			c.pool.register(c)
		}
	}
	return out, nil
}

// growCaches gives every cache of the batch the blocks its new rows need;
// when one cannot get them, the others give theirs back. It allocates
// nothing (decode steps stay allocation-free).
func (m *Model) growCaches(b Batch, caches []*Cache) error {
	var err error
	for _, s := range b.Seq {
		c := caches[s]
		if c.growing {
			continue
		}
		c.growing, c.keep = true, len(c.blocks)
		if err = c.grow(c.n + c.pending); err != nil {
			break
		}
	}
	for _, s := range b.Seq {
		if c := caches[s]; c.growing {
			if err != nil {
				c.ungrow(c.keep)
			}
			c.growing = false
		}
	}
	return err
}

// check validates a batch against the caches before anything changes.
func (m *Model) check(b Batch, caches []*Cache) error {
	n := len(b.Tokens)
	if n == 0 {
		return fmt.Errorf("phi3: forward: empty batch")
	}
	if len(b.Pos) != n || len(b.Seq) != n || (b.Logits != nil && len(b.Logits) != n) {
		return fmt.Errorf("phi3: forward: batch has %d tokens, %d positions, %d sequence ids, %d logit flags", n, len(b.Pos), len(b.Seq), len(b.Logits))
	}
	for i := range n {
		if s := b.Seq[i]; s >= 0 && s < len(caches) && caches[s] != nil {
			caches[s].pending = 0
		}
	}
	for i := range n {
		tok, s := b.Tokens[i], b.Seq[i]
		if tok < 0 || int(tok) >= m.Config.Vocab {
			return fmt.Errorf("phi3: forward: row %d: token %d out of range [0, %d)", i, tok, m.Config.Vocab)
		}
		if s < 0 || s >= len(caches) || caches[s] == nil {
			return fmt.Errorf("phi3: forward: row %d: sequence %d has no cache (%d caches given)", i, s, len(caches))
		}
		c := caches[s]
		if c.pool == nil {
			return fmt.Errorf("phi3: forward: row %d: cache of sequence %d was released", i, s)
		}
		if c.model != m {
			return fmt.Errorf("phi3: forward: row %d: cache of sequence %d belongs to another model", i, s)
		}
		want := c.n + c.pending
		if int(b.Pos[i]) != want {
			return fmt.Errorf("phi3: forward: row %d: position %d for sequence %d, want %d (next position)", i, b.Pos[i], s, want)
		}
		if want >= c.ctx {
			return fmt.Errorf("phi3: forward: row %d: sequence %d at position %d exceeds its context of %d: %w", i, s, want, c.ctx, ErrContextFull)
		}
		c.pending++
	}
	return nil
}

// forward runs at most maxBatch rows and writes the logits of the rows
// asked for into out; it returns how many rows it wrote.
func (m *Model) forward(b Batch, caches []*Cache, out []float32) int {
	c := &m.Config
	s := &m.s
	n := len(b.Tokens)
	s.ensure(c, n)
	E, kvd, F := c.Embd, c.KVDim(), c.FFN
	qs := E + 2*kvd // stride of a qkv row
	half := c.RopeDims / 2

	maxLen := 0
	for i := range n {
		cache := caches[b.Seq[i]]
		maxLen = max(maxLen, int(b.Pos[i])+1)
		ropeTable(c, int(b.Pos[i]), cache.factor, s.cos[i*half:(i+1)*half], s.sin[i*half:(i+1)*half])
		_ = dequantRow(m.embd.Type, m.embd.Row(int(b.Tokens[i])), s.x[i*E:(i+1)*E])
	}
	for w := range s.scores {
		if len(s.scores[w]) < maxLen {
			s.scores[w] = make([]float32, max(maxLen, 2*len(s.scores[w])))
		}
	}
	qScale := float32(1 / math.Sqrt(float64(c.HeadDim)))

	for li := range m.layers {
		l := &m.layers[li]
		rmsNorm(s.h, s.x, l.attnNorm, n, c.Eps)
		if l.qkv != nil {
			m.matmul(s.qkv, qs, l.qkv, s.h, n)
		} else {
			m.matmul(s.qkv, qs, l.q, s.h, n)
			m.matmul(s.qkv[E:], qs, l.k, s.h, n)
			m.matmul(s.qkv[E+kvd:], qs, l.v, s.h, n)
		}
		for i := range n {
			row := s.qkv[i*qs : (i+1)*qs]
			cs, sn := s.cos[i*half:(i+1)*half], s.sin[i*half:(i+1)*half]
			ropeNeoX(row[:E], c.Heads, c.HeadDim, cs, sn)
			ropeNeoX(row[E:E+kvd], c.KVHeads, c.HeadDim, cs, sn)
			for j := range E {
				row[j] *= qScale
			}
			cache := caches[b.Seq[i]]
			p := int(b.Pos[i])
			k, v := cache.kv(li, p)
			copy(k, row[E:E+kvd])
			copy(v, row[E+kvd:])
		}
		s.attn = attnTask{m: m, layer: li, b: b, caches: caches}
		m.pool.run(&s.attn, n*c.Heads, 1)
		s.attn = attnTask{}
		m.matmul(s.tmp, E, l.o, s.att, n)
		add(s.x[:n*E], s.tmp[:n*E])

		rmsNorm(s.h, s.x, l.ffnNorm, n, c.Eps)
		if l.gate == nil {
			m.matmul(s.up, 2*F, l.up, s.h, n)
		} else {
			m.matmul(s.up, 2*F, l.gate, s.h, n)
			m.matmul(s.up[F:], 2*F, l.up, s.h, n)
		}
		for i := range n {
			g, u, a := s.up[i*2*F:i*2*F+F], s.up[i*2*F+F:(i+1)*2*F], s.act[i*F:(i+1)*F]
			for j := range F {
				a[j] = silu(g[j]) * u[j]
			}
		}
		m.matmul(s.tmp, E, l.down, s.act, n)
		add(s.x[:n*E], s.tmp[:n*E])
	}
	for i := range n {
		cache := caches[b.Seq[i]]
		if p := int(b.Pos[i]); p == cache.n {
			cache.toks = append(cache.toks, b.Tokens[i])
			cache.n++
		}
	}

	// Final norm and output only for the rows asked for, packed into h.
	k := 0
	for i := range n {
		if b.Logits != nil && b.Logits[i] {
			copy(s.tmp[k*E:(k+1)*E], s.x[i*E:(i+1)*E])
			k++
		}
	}
	if k > 0 {
		rmsNorm(s.h, s.tmp, m.outNorm, k, c.Eps)
		m.matmul(out, c.Vocab, m.output, s.h, k)
	}
	return k
}

// attnTask computes attention for (row, head) pairs, index = row*Heads+head.
type attnTask struct {
	m      *Model
	layer  int
	b      Batch
	caches []*Cache
}

func (t *attnTask) run(worker, lo, hi int) {
	c, s := &t.m.Config, &t.m.s
	E, kvd, hd := c.Embd, c.KVDim(), c.HeadDim
	qs := E + 2*kvd
	group := c.Heads / c.KVHeads
	for idx := lo; idx < hi; idx++ {
		i, h := idx/c.Heads, idx%c.Heads
		cache := t.caches[t.b.Seq[i]]
		p := int(t.b.Pos[i])
		q := s.qkv[i*qs+h*hd : i*qs+(h+1)*hd]
		off := (h / group) * hd // this head's slice of a K/V row
		bs := cache.pool.bs
		lo := t.layer * 2 * bs * kvd // this layer's K rows in a block; V rows follow at +bs*kvd
		start := 0
		if c.SlidingWindow > 0 && p-c.SlidingWindow+1 > 0 {
			start = p - c.SlidingWindow + 1 // keys >= SlidingWindow behind are masked
		}
		sc := s.scores[worker][:p+1-start]
		mx := float32(math.Inf(-1))
		// Positions start..p, block by block; rows are contiguous in a block.
		for j, pos := 0, start; pos <= p; {
			r0, r1 := pos%bs, min(bs, pos%bs+p+1-pos)
			K := cache.blocks[pos/bs].data[lo : lo+bs*kvd]
			for r := r0; r < r1; r++ {
				v := kernels.Dot(q, K[r*kvd+off:r*kvd+off+hd])
				sc[j] = v
				mx = max(mx, v)
				j++
			}
			pos += r1 - r0
		}
		var sum float64
		for j, v := range sc {
			e := float32(math.Exp(float64(v - mx)))
			sc[j] = e
			sum += float64(e)
		}
		inv := float32(1 / sum)
		o := s.att[i*E+h*hd : i*E+(h+1)*hd]
		clear(o)
		for j, pos := 0, start; pos <= p; {
			r0, r1 := pos%bs, min(bs, pos%bs+p+1-pos)
			V := cache.blocks[pos/bs].data[lo+bs*kvd : lo+2*bs*kvd]
			for r := r0; r < r1; r++ {
				kernels.Axpy(sc[j]*inv, V[r*kvd+off:r*kvd+off+hd], o)
				j++
			}
			pos += r1 - r0
		}
	}
}

// rmsNorm writes dst[i] = x[i] / sqrt(mean(x[i]^2) + eps) * w for n rows of
// len(w) values (the sum of squares in float64, as ggml).
func rmsNorm(dst, x, w []float32, n int, eps float32) {
	e := len(w)
	for i := range n {
		xi, di := x[i*e:(i+1)*e], dst[i*e:(i+1)*e]
		var sum float64
		for _, v := range xi {
			sum += float64(v * v)
		}
		scale := float32(1 / math.Sqrt(float64(float32(sum/float64(e))+eps)))
		for j, v := range xi {
			di[j] = v * scale * w[j]
		}
	}
}

func add(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}

func silu(x float32) float32 { return x / (1 + float32(math.Exp(float64(-x)))) }
