package phi3

import (
	"fmt"
	"math"

	"maas/internal/engine/gguf"
)

// Config holds the hyper-parameters read from the phi3.* metadata keys.
type Config struct {
	ContextLength int     // phi3.context_length: training context in tokens
	OrigContext   int     // phi3.rope.scaling.original_context_length (= ContextLength if absent)
	Embd          int     // phi3.embedding_length (E)
	FFN           int     // phi3.feed_forward_length (F)
	Layers        int     // phi3.block_count
	Heads         int     // phi3.attention.head_count
	KVHeads       int     // phi3.attention.head_count_kv (= Heads if absent)
	HeadDim       int     // Embd / Heads
	Eps           float32 // phi3.attention.layer_norm_rms_epsilon
	RopeDims      int     // phi3.rope.dimension_count (rotated dims per head, even, <= HeadDim)
	RopeBase      float32 // phi3.rope.freq_base (10000 if absent)
	AttnFactor    float32 // phi3.rope.scaling.attn_factor: multiplies RoPE cos and sin (1 if absent)
	SlidingWindow int     // phi3.attention.sliding_window: keys >= this far behind the query are masked; 0 = none
	Vocab         int     // rows of token_embd
}

// KVDim returns the width of one position's K (or V) row: KVHeads * HeadDim.
func (c Config) KVDim() int { return c.KVHeads * c.HeadDim }

// maxDim bounds every size read from metadata, far above real models, so
// products of sizes cannot overflow int.
const maxDim = 1 << 24

// ConfigFromGGUF reads and checks the hyper-parameters of a phi3 file.
func ConfigFromGGUF(f *gguf.File) (Config, error) {
	arch, err := f.RequireString("general.architecture")
	if err != nil {
		return Config{}, err
	}
	if arch != "phi3" {
		return Config{}, fmt.Errorf("phi3: architecture is %q, want \"phi3\"", arch)
	}
	var c Config
	ints := []struct {
		key      string
		dst      *int
		required bool
	}{
		{"phi3.context_length", &c.ContextLength, true},
		{"phi3.embedding_length", &c.Embd, true},
		{"phi3.feed_forward_length", &c.FFN, true},
		{"phi3.block_count", &c.Layers, true},
		{"phi3.attention.head_count", &c.Heads, true},
		{"phi3.attention.head_count_kv", &c.KVHeads, false},
		{"phi3.rope.dimension_count", &c.RopeDims, false},
		{"phi3.rope.scaling.original_context_length", &c.OrigContext, false},
	}
	for _, k := range ints {
		v, err := f.UintOr(k.key, 0)
		if err != nil {
			return Config{}, err
		}
		if _, ok := f.KV(k.key); !ok && k.required {
			return Config{}, fmt.Errorf("phi3: metadata key %q missing", k.key)
		}
		if v > maxDim {
			return Config{}, fmt.Errorf("phi3: metadata key %q is %d, larger than %d", k.key, v, maxDim)
		}
		if _, ok := f.KV(k.key); ok && v == 0 {
			return Config{}, fmt.Errorf("phi3: metadata key %q is 0", k.key)
		}
		*k.dst = int(v)
	}
	eps, err := f.RequireFloat("phi3.attention.layer_norm_rms_epsilon")
	if err != nil {
		return Config{}, err
	}
	base, err := f.FloatOr("phi3.rope.freq_base", 10000)
	if err != nil {
		return Config{}, err
	}
	attn, err := f.FloatOr("phi3.rope.scaling.attn_factor", 1)
	if err != nil {
		return Config{}, err
	}
	c.Eps, c.RopeBase, c.AttnFactor = float32(eps), float32(base), float32(attn)
	if !(eps > 0 && eps < 1) || !(base > 1) || math.IsInf(base, 0) || !(attn > 0 && attn < 100) {
		return Config{}, fmt.Errorf("phi3: bad float hyper-parameters: eps %g, rope.freq_base %g, rope.scaling.attn_factor %g", eps, base, attn)
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.OrigContext == 0 {
		c.OrigContext = c.ContextLength
	}
	// Bounds far above any Phi-3 (E 5120, F 17920, 40 layers and heads) keep
	// a hostile file from asking for huge scratch buffers.
	if c.Embd > 1<<16 || c.FFN > 1<<18 || c.Layers > 4096 || c.Heads > 4096 {
		return Config{}, fmt.Errorf("phi3: implausible sizes: embedding_length %d, feed_forward_length %d, block_count %d, head_count %d", c.Embd, c.FFN, c.Layers, c.Heads)
	}
	if c.Embd%c.Heads != 0 {
		return Config{}, fmt.Errorf("phi3: embedding_length %d is not a multiple of head_count %d", c.Embd, c.Heads)
	}
	if c.Heads%c.KVHeads != 0 {
		return Config{}, fmt.Errorf("phi3: head_count %d is not a multiple of head_count_kv %d", c.Heads, c.KVHeads)
	}
	c.HeadDim = c.Embd / c.Heads
	if c.RopeDims == 0 {
		c.RopeDims = c.HeadDim
	}
	if c.RopeDims > c.HeadDim || c.RopeDims%2 != 0 {
		return Config{}, fmt.Errorf("phi3: rope.dimension_count %d must be even and at most the head size %d", c.RopeDims, c.HeadDim)
	}
	sw, err := slidingWindow(f, c)
	if err != nil {
		return Config{}, err
	}
	c.SlidingWindow = sw
	return c, nil
}

// slidingWindow reads phi3.attention.sliding_window. Files converted before
// the key existed get llama.cpp's defaults for the shapes Microsoft shipped:
// 2047 for the 4k mini/medium models, 262144 for mini-128k, 131072 for
// medium-128k; other files without the key are refused, as llama.cpp does.
func slidingWindow(f *gguf.File, c Config) (int, error) {
	const key = "phi3.attention.sliding_window"
	if _, ok := f.KV(key); ok {
		v, err := f.RequireUint(key)
		if err != nil {
			return 0, err
		}
		if v > math.MaxInt32 {
			return 0, fmt.Errorf("phi3: metadata key %q is %d, too large", key, v)
		}
		return int(v), nil
	}
	switch {
	case (c.Layers == 32 || c.Layers == 40) && c.ContextLength == 4096:
		return 2047, nil
	case c.Layers == 32 && c.KVHeads == 32 && c.ContextLength == 131072:
		return 262144, nil
	case c.Layers == 40 && c.ContextLength == 131072:
		return 131072, nil
	}
	return 0, fmt.Errorf("phi3: metadata key %q missing and no default is known for %d layers with context %d", key, c.Layers, c.ContextLength)
}
