package phi3

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"maas/internal/engine/gguf"
	"maas/internal/engine/quant"
)

// Options configure a Model.
type Options struct {
	Threads  int // goroutines for the matrix products and attention; <= 0 means GOMAXPROCS
	MaxBatch int // rows per internal forward pass (scratch size); <= 0 means 512
}

// Weight is a 2-D weight matrix viewed in the file: Rows rows (ne[1]) of
// Cols values (ne[0]) of ggml type Type, RowBytes bytes each.
type Weight struct {
	Name     string
	Type     quant.Type
	Rows     int
	Cols     int
	RowBytes int
	Data     []byte // len Rows*RowBytes; read-only (mapped)

	k           kernel // product kernels for Type
	actRowBytes int    // bytes of Cols activations converted for k
}

// Row returns the bytes of row r.
func (w *Weight) Row(r int) []byte { return w.Data[r*w.RowBytes : (r+1)*w.RowBytes] }

// layer holds one transformer block. Either qkv is set (fused, rows Q then K
// then V) or q, k and v are; either up holds gate and up ([2F] rows, gate
// first) with gate nil, or gate and up are separate [F]-row matrices.
type layer struct {
	attnNorm []float32 // (E)
	qkv      *Weight   // (E+2*KVDim, E)
	q, k, v  *Weight   // (E, E), (KVDim, E), (KVDim, E)
	o        *Weight   // (E, E)
	ffnNorm  []float32 // (E)
	up       *Weight   // (2F, E) fused or (F, E)
	gate     *Weight   // (F, E) or nil
	down     *Weight   // (E, F)
}

// Model is a loaded Phi-3 network. Forward calls are serialised by an
// internal lock; Caches belong to one sequence each.
type Model struct {
	Config Config

	file      *gguf.File // closed by Close when owned
	ownsFile  bool
	embd      *Weight // (Vocab, E)
	layers    []layer
	outNorm   []float32 // (E)
	output    *Weight   // (Vocab, E); token_embd when tied
	ropeLong  []float32 // (RopeDims/2) LongRoPE factors, nil if absent
	ropeShort []float32 // (RopeDims/2), nil if absent

	threads  int
	maxBatch int
	pool     *pool
	mu       sync.Mutex
	s        scratch
}

// Load opens a phi3 GGUF file and builds a Model; Close unmaps the file.
func Load(path string, opts Options) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	m, err := New(f, opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	m.ownsFile = true
	return m, nil
}

// New builds a Model over an open file, which must stay open until the
// Model is closed.
func New(f *gguf.File, opts Options) (*Model, error) {
	cfg, err := ConfigFromGGUF(f)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, file: f}
	if err := m.loadTensors(f); err != nil {
		return nil, err
	}
	m.threads = opts.Threads
	if m.threads <= 0 {
		m.threads = runtime.GOMAXPROCS(0)
	}
	m.maxBatch = opts.MaxBatch
	if m.maxBatch <= 0 {
		m.maxBatch = 512
	}
	m.s.init(m)
	m.pool = newPool(m.threads)
	return m, nil
}

// Close stops the worker goroutines and, for a Model from Load, unmaps the file.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pool != nil {
		m.pool.close()
		m.pool = nil
	}
	if m.ownsFile && m.file != nil {
		err := m.file.Close()
		m.file = nil
		return err
	}
	return nil
}

// Vocab returns the vocabulary size (logits per row).
func (m *Model) Vocab() int { return m.Config.Vocab }

func (m *Model) loadTensors(f *gguf.File) error {
	c := &m.Config
	embd, err := weight(f, "token_embd.weight", -1, c.Embd, true)
	if err != nil {
		return err
	}
	m.embd = embd
	c.Vocab = embd.Rows
	if m.outNorm, err = vector(f, "output_norm.weight", c.Embd); err != nil {
		return err
	}
	if _, ok := f.Tensor("output.weight"); ok {
		if m.output, err = weight(f, "output.weight", c.Vocab, c.Embd, true); err != nil {
			return err
		}
	} else {
		m.output = embd // tied embeddings
	}
	if !supported(embd.Type) {
		return unsupported(embd)
	}
	m.layers = make([]layer, c.Layers)
	kvd := c.KVDim()
	for i := range m.layers {
		l := &m.layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		if l.attnNorm, err = vector(f, p+"attn_norm.weight", c.Embd); err != nil {
			return err
		}
		if l.ffnNorm, err = vector(f, p+"ffn_norm.weight", c.Embd); err != nil {
			return err
		}
		if _, ok := f.Tensor(p + "attn_qkv.weight"); ok {
			if l.qkv, err = weight(f, p+"attn_qkv.weight", c.Embd+2*kvd, c.Embd, true); err != nil {
				return err
			}
		} else {
			if l.q, err = weight(f, p+"attn_q.weight", c.Embd, c.Embd, true); err != nil {
				return err
			}
			if l.k, err = weight(f, p+"attn_k.weight", kvd, c.Embd, true); err != nil {
				return err
			}
			if l.v, err = weight(f, p+"attn_v.weight", kvd, c.Embd, true); err != nil {
				return err
			}
		}
		if l.o, err = weight(f, p+"attn_output.weight", c.Embd, c.Embd, true); err != nil {
			return err
		}
		if _, ok := f.Tensor(p + "ffn_gate.weight"); ok {
			if l.gate, err = weight(f, p+"ffn_gate.weight", c.FFN, c.Embd, true); err != nil {
				return err
			}
			if l.up, err = weight(f, p+"ffn_up.weight", c.FFN, c.Embd, true); err != nil {
				return err
			}
		} else if l.up, err = weight(f, p+"ffn_up.weight", 2*c.FFN, c.Embd, true); err != nil {
			return err
		}
		if l.down, err = weight(f, p+"ffn_down.weight", c.Embd, c.FFN, true); err != nil {
			return err
		}
	}
	half := c.RopeDims / 2
	if _, ok := f.Tensor("rope_factors_long.weight"); ok {
		if m.ropeLong, err = vector(f, "rope_factors_long.weight", half); err != nil {
			return err
		}
	}
	if _, ok := f.Tensor("rope_factors_short.weight"); ok {
		if m.ropeShort, err = vector(f, "rope_factors_short.weight", half); err != nil {
			return err
		}
	}
	for _, fs := range [][]float32{m.ropeLong, m.ropeShort} {
		for i, v := range fs {
			if !(v > 0) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("phi3: rope factor %d is %g, want a positive finite number", i, v)
			}
		}
	}
	return nil
}

func unsupported(w *Weight) error {
	return fmt.Errorf("phi3: tensor %q has type %s, which this engine does not support", w.Name, gguf.TypeName(uint32(w.Type)))
}

// weight looks up a 2-D matrix of rows x cols (rows < 0: any) and checks
// its shape and type.
func weight(f *gguf.File, name string, rows, cols int, checkType bool) (*Weight, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("phi3: tensor %q missing", name)
	}
	if len(t.Dims) != 2 || t.Dims[0] != uint64(cols) || (rows >= 0 && t.Dims[1] != uint64(rows)) || t.Dims[1] == 0 || t.Dims[1] > maxDim {
		want := fmt.Sprintf("[%d, %d]", cols, rows)
		if rows < 0 {
			want = fmt.Sprintf("[%d, n]", cols)
		}
		return nil, fmt.Errorf("phi3: tensor %q has shape %v, want %s", name, t.Dims, want)
	}
	w := &Weight{Name: name, Type: quant.Type(t.Type), Rows: int(t.Dims[1]), Cols: cols}
	if checkType && !supported(w.Type) {
		return nil, unsupported(w)
	}
	rb, err := rowBytes(w.Type, cols)
	if err != nil {
		return nil, fmt.Errorf("phi3: tensor %q: %w", name, err)
	}
	w.RowBytes = rb
	if supported(w.Type) {
		if w.k, err = kernelFor(w.Type); err != nil {
			return nil, fmt.Errorf("phi3: tensor %q: %w", name, err)
		}
		if w.actRowBytes, err = w.k.act.RowBytes(cols); err != nil {
			return nil, fmt.Errorf("phi3: tensor %q: %w", name, err)
		}
	}
	if w.Data, err = f.Data(t); err != nil {
		return nil, fmt.Errorf("phi3: tensor %q: %w", name, err)
	}
	if len(w.Data) != w.Rows*w.RowBytes {
		return nil, fmt.Errorf("phi3: tensor %q: %d bytes, want %d", name, len(w.Data), w.Rows*w.RowBytes)
	}
	return w, nil
}

// vector reads a 1-D F32 tensor of n values into the heap (norms and rope
// factors are small).
func vector(f *gguf.File, name string, n int) ([]float32, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("phi3: tensor %q missing", name)
	}
	if len(t.Dims) != 1 || t.Dims[0] != uint64(n) {
		return nil, fmt.Errorf("phi3: tensor %q has shape %v, want [%d]", name, t.Dims, n)
	}
	if t.Type != gguf.GGMLTypeF32 && t.Type != gguf.GGMLTypeF16 {
		return nil, fmt.Errorf("phi3: tensor %q has type %s, want F32", name, t.TypeName())
	}
	b, err := f.Data(t)
	if err != nil {
		return nil, fmt.Errorf("phi3: tensor %q: %w", name, err)
	}
	out := make([]float32, n)
	if err := dequantRow(quant.Type(t.Type), b, out); err != nil {
		return nil, fmt.Errorf("phi3: tensor %q: %w", name, err)
	}
	return out, nil
}
