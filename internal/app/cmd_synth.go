package app

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"

	"maas/internal/engine/gguf"
	"maas/internal/engine/quant"
)

// runSynth writes a random-weight phi3 GGUF with a real vocabulary:
//
//	maas synth --shape tiny|mini|mini-128k|medium --type TYPE --vocab VOCAB.gguf --seed N -o FILE
//
// mini and medium have exactly the hyper-parameters of
// Phi-3-mini-4k-instruct and Phi-3-medium-4k-instruct; mini-128k adds
// LongRoPE as Phi-3-mini-128k-instruct. The file is streamed tensor by
// tensor and row chunk by row chunk, so multi-gigabyte files need little
// memory. The same seed gives the same file.
func runSynth(ctx context.Context, args []string, env Env) error {
	fs := newFlags("synth", env)
	shapeName := fs.String("shape", "tiny", "model shape: tiny, mini, mini-128k or medium")
	typ := fs.String("type", "f16", "weight type: f16 f32 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k q4_k_m q5_k_m")
	vocab := fs.String("vocab", "", "GGUF `file` whose tokenizer.* metadata is copied (required)")
	seed := fs.Uint64("seed", 1, "random seed")
	out := fs.String("o", "", "output `file` (required)")
	threads := fs.Int("threads", 0, "goroutines generating rows (0: all CPUs)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: maas synth --shape tiny|mini|mini-128k|medium --type TYPE --vocab VOCAB.gguf --seed N -o FILE")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *vocab == "" || *out == "" || fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("%w: --vocab and -o are required", errUsage)
	}
	sh, ok := synthShapes[*shapeName]
	if !ok {
		return fmt.Errorf("%w: unknown shape %q (want tiny, mini, mini-128k or medium)", errUsage, *shapeName)
	}
	p, err := parsePreset(*typ)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	vf, err := gguf.Open(*vocab)
	if err != nil {
		return fmt.Errorf("open vocabulary: %w", err)
	}
	defer vf.Close()
	toks, ok := vf.Strings("tokenizer.ggml.tokens")
	if !ok || len(toks) == 0 {
		return fmt.Errorf("vocabulary %s has no tokenizer.ggml.tokens array", *vocab)
	}
	sh.vocab = len(toks)
	kvs := sh.metadata(fmt.Sprintf("synth-phi3-%s-%s", *shapeName, p.name), p)
	for _, kv := range vf.KVs() {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			kvs = append(kvs, kv)
		}
	}
	specs := sh.tensors()
	infos := make([]gguf.TensorInfo, len(specs))
	for i, s := range specs {
		infos[i] = gguf.TensorInfo{Name: s.name, Dims: s.dims, Type: uint32(quant.F32)}
		if len(s.dims) == 2 {
			infos[i].Type = uint32(p.typeFor(s.name, int(s.dims[0]), sh.layers, true))
		}
	}
	return writeFileAtomic(*out, func(w io.Writer) error {
		gw, err := gguf.NewWriter(w, kvs, infos)
		if err != nil {
			return err
		}
		for i, s := range specs {
			if err := ctx.Err(); err != nil {
				return err
			}
			cols := int(s.dims[0])
			rows := 1
			if len(s.dims) == 2 {
				rows = int(s.dims[1])
			}
			rc := rowConverter{cols: cols, dst: quant.Type(infos[i].Type), threads: *threads,
				fill: s.fill(*seed, uint64(i))}
			if err := gw.WriteTensorFunc(s.name, func(w io.Writer) error { return rc.write(w, rows) }); err != nil {
				return fmt.Errorf("generate tensor %q: %w", s.name, err)
			}
			fmt.Fprintf(env.Stderr, "[%d/%d] %-32s %v %s\n", i+1, len(specs), s.name, s.dims, quant.Type(infos[i].Type))
		}
		return gw.Close()
	})
}

// synthShape holds the hyper-parameters of a synthetic model.
type synthShape struct {
	embd, ffn, layers, heads, kvHeads int
	ctx, origCtx, window              int
	longRoPE                          bool
	vocab                             int // from the vocabulary file
}

// synthShapes: mini is Phi-3-mini-4k-instruct, medium is
// Phi-3-medium-4k-instruct, mini-128k is Phi-3-mini-128k-instruct (sliding
// window as its GGUF: 262144), tiny is the shared fixture's shape
// (read-only).
var synthShapes = map[string]synthShape{
	"tiny":      {embd: 256, ffn: 512, layers: 2, heads: 8, kvHeads: 8, ctx: 4096, origCtx: 4096, window: 2047},
	"mini":      {embd: 3072, ffn: 8192, layers: 32, heads: 32, kvHeads: 32, ctx: 4096, origCtx: 4096, window: 2047},
	"mini-128k": {embd: 3072, ffn: 8192, layers: 32, heads: 32, kvHeads: 32, ctx: 131072, origCtx: 4096, window: 262144, longRoPE: true},
	"medium":    {embd: 5120, ffn: 17920, layers: 40, heads: 40, kvHeads: 10, ctx: 4096, origCtx: 4096, window: 2047},
}

func (s synthShape) headDim() int { return s.embd / s.heads }

func (s synthShape) metadata(name string, p preset) []gguf.KV {
	kvs := []gguf.KV{
		{Key: "general.architecture", Value: gguf.String("phi3")},
		{Key: "general.name", Value: gguf.String(name)},
		{Key: "general.file_type", Value: gguf.Uint32(p.fileType)},
		{Key: "phi3.context_length", Value: gguf.Uint32(uint32(s.ctx))},
		{Key: "phi3.rope.scaling.original_context_length", Value: gguf.Uint32(uint32(s.origCtx))},
		{Key: "phi3.embedding_length", Value: gguf.Uint32(uint32(s.embd))},
		{Key: "phi3.feed_forward_length", Value: gguf.Uint32(uint32(s.ffn))},
		{Key: "phi3.block_count", Value: gguf.Uint32(uint32(s.layers))},
		{Key: "phi3.attention.head_count", Value: gguf.Uint32(uint32(s.heads))},
		{Key: "phi3.attention.head_count_kv", Value: gguf.Uint32(uint32(s.kvHeads))},
		{Key: "phi3.attention.layer_norm_rms_epsilon", Value: gguf.Float32(1e-5)},
		{Key: "phi3.rope.dimension_count", Value: gguf.Uint32(uint32(s.headDim()))},
		{Key: "phi3.rope.freq_base", Value: gguf.Float32(10000)},
		{Key: "phi3.attention.sliding_window", Value: gguf.Uint32(uint32(s.window))},
	}
	if s.longRoPE {
		// sqrt(1 + ln(ctx/orig) / ln(orig)), as Phi-3's LongRoPE defines it.
		af := math.Sqrt(1 + math.Log(float64(s.ctx)/float64(s.origCtx))/math.Log(float64(s.origCtx)))
		kvs = append(kvs, gguf.KV{Key: "phi3.rope.scaling.attn_factor", Value: gguf.Float32(float32(af))})
	}
	if p.quantized() {
		kvs = append(kvs, gguf.KV{Key: "general.quantization_version", Value: gguf.Uint32(2)})
	}
	return kvs
}

// synthTensor is one tensor to generate: normal(0, scale) values for
// matrices, uniform [lo, hi] for vectors.
type synthTensor struct {
	name   string
	dims   []uint64 // ggml order
	scale  float64  // matrices: standard deviation
	lo, hi float64  // vectors: uniform range
}

// tensors lists the tensors in the order llama.cpp's converter writes
// them. Scales keep activations sane: projections have standard deviation
// 1/sqrt(fan-in) (Q and K twice that, so attention is far from uniform),
// the output 4/sqrt(E) (logits of standard deviation about 4).
func (s synthShape) tensors() []synthTensor {
	E, F, kvd := uint64(s.embd), uint64(s.ffn), uint64(s.kvHeads*s.headDim())
	in := 1 / math.Sqrt(float64(E))
	ts := []synthTensor{{name: "token_embd.weight", dims: []uint64{E, uint64(s.vocab)}, scale: 1}}
	for l := range s.layers {
		p := fmt.Sprintf("blk.%d.", l)
		ts = append(ts,
			synthTensor{name: p + "attn_norm.weight", dims: []uint64{E}, lo: 0.8, hi: 1.2},
			synthTensor{name: p + "attn_qkv.weight", dims: []uint64{E, E + 2*kvd}, scale: 2 * in},
			synthTensor{name: p + "attn_output.weight", dims: []uint64{E, E}, scale: in},
			synthTensor{name: p + "ffn_norm.weight", dims: []uint64{E}, lo: 0.8, hi: 1.2},
			synthTensor{name: p + "ffn_up.weight", dims: []uint64{E, 2 * F}, scale: in},
			synthTensor{name: p + "ffn_down.weight", dims: []uint64{F, E}, scale: 1 / math.Sqrt(float64(F))},
		)
	}
	ts = append(ts,
		synthTensor{name: "output_norm.weight", dims: []uint64{E}, lo: 0.8, hi: 1.2},
		synthTensor{name: "output.weight", dims: []uint64{E, uint64(s.vocab)}, scale: 4 * in},
	)
	if s.longRoPE {
		half := uint64(s.headDim() / 2)
		// Long factors grow from 1 to about the context ratio over the
		// pairs, short ones stay near 1, as in the released models.
		ts = append(ts,
			synthTensor{name: "rope_factors_long.weight", dims: []uint64{half}, lo: 1, hi: float64(s.ctx) / float64(s.origCtx)},
			synthTensor{name: "rope_factors_short.weight", dims: []uint64{half}, lo: 1, hi: 1.1},
		)
	}
	return ts
}

// fill returns a row generator: row r of tensor idx is drawn from its own
// PCG stream, so the output does not depend on the thread count.
func (t synthTensor) fill(seed, idx uint64) func(int, []float32) error {
	return func(r int, out []float32) error {
		rng := rand.New(rand.NewPCG(seed, idx<<32|uint64(r)))
		if len(t.dims) == 1 {
			n := len(out)
			for i := range out {
				if strings.HasPrefix(t.name, "rope_factors") && n > 1 {
					// Increasing in i: low-frequency pairs get larger factors.
					out[i] = float32(t.lo + (t.hi-t.lo)*float64(i)/float64(n-1))
					continue
				}
				out[i] = float32(t.lo + (t.hi-t.lo)*rng.Float64())
			}
			return nil
		}
		for i := range out {
			out[i] = float32(rng.NormFloat64() * t.scale)
		}
		return nil
	}
}
