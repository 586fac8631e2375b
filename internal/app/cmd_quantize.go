package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"maas/internal/engine/gguf"
	"maas/internal/engine/quant"
)

// runQuantize converts the F32/F16/BF16 weights of a GGUF file:
//
//	maas quantize IN.gguf OUT.gguf TYPE
//
// TYPE is a preset (see parsePreset and preset.typeFor): f32, f16, q8_0,
// q4_0, q4_1, q5_0, q5_1, q4_k (llama.cpp's Q4_K_S), q5_k (Q5_K_S), q6_k,
// q4_k_m, q5_k_m, with llama-quantize's per-tensor choices (output.weight
// Q6_K, more bits for some layers in the mixes). 1-D tensors (norms, rope
// factors) are written as F32. Metadata is copied, with general.file_type
// and general.quantization_version set.
func runQuantize(ctx context.Context, args []string, env Env) error {
	fs := newFlags("quantize", env)
	threads := fs.Int("threads", 0, "goroutines converting rows (0: all CPUs)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: maas quantize [--threads N] IN.gguf OUT.gguf TYPE")
		fmt.Fprintln(fs.Output(), "TYPE: q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k q4_k_m q5_k_m f16 f32")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 3 {
		fs.Usage()
		return fmt.Errorf("%w: want IN.gguf OUT.gguf TYPE", errUsage)
	}
	in, out, typ := fs.Arg(0), fs.Arg(1), fs.Arg(2)
	p, err := parsePreset(typ)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	f, err := gguf.Open(in)
	if err != nil {
		return fmt.Errorf("open input: %w", err)
	}
	defer f.Close()
	nLayers := 0
	for _, t := range f.Tensors() {
		if l, ok := layerOf(t.Name); ok {
			nLayers = max(nLayers, l+1)
		}
	}
	hasOutput := false
	if _, ok := f.Tensor("output.weight"); ok {
		hasOutput = true
	}
	var kvs []gguf.KV
	for _, kv := range f.KVs() {
		switch kv.Key {
		case "general.file_type", "general.quantization_version":
			continue
		}
		kvs = append(kvs, kv)
	}
	kvs = append(kvs, gguf.KV{Key: "general.file_type", Value: gguf.Uint32(p.fileType)})
	if p.quantized() {
		kvs = append(kvs, gguf.KV{Key: "general.quantization_version", Value: gguf.Uint32(2)})
	}
	var outs []gguf.TensorInfo
	for _, t := range f.Tensors() {
		src := quant.Type(t.Type)
		if src != quant.F32 && src != quant.F16 && src != quant.BF16 {
			return fmt.Errorf("tensor %q has type %s; quantize needs F32, F16 or BF16 input", t.Name, src)
		}
		o := gguf.TensorInfo{Name: t.Name, Dims: t.Dims, Type: uint32(quant.F32)}
		if len(t.Dims) >= 2 {
			o.Type = uint32(p.typeFor(t.Name, int(t.Dims[0]), nLayers, hasOutput))
		}
		outs = append(outs, o)
	}
	return writeFileAtomic(out, func(w io.Writer) error {
		gw, err := gguf.NewWriter(w, kvs, outs)
		if err != nil {
			return err
		}
		for i, t := range f.Tensors() {
			if err := ctx.Err(); err != nil {
				return err
			}
			data, err := f.Data(t)
			if err != nil {
				return err
			}
			src := quant.Type(t.Type)
			dst := quant.Type(outs[i].Type)
			cols := int(t.Dims[0])
			rows := int(t.Elements()) / max(cols, 1)
			srcRow, _ := src.RowBytes(cols)
			rc := rowConverter{cols: cols, dst: dst, threads: *threads, fill: func(r int, row []float32) error {
				return quant.Dequantize(src, data[r*srcRow:(r+1)*srcRow], row)
			}}
			if err := gw.WriteTensorFunc(t.Name, func(w io.Writer) error { return rc.write(w, rows) }); err != nil {
				return fmt.Errorf("convert tensor %q to %s: %w", t.Name, dst, err)
			}
			fmt.Fprintf(env.Stderr, "[%d/%d] %-32s %-5s -> %s\n", i+1, len(outs), t.Name, src, dst)
		}
		return gw.Close()
	})
}

// preset is a target weight format: a base type for 2-D weights plus
// llama.cpp's per-tensor exceptions; mix marks the _M presets.
type preset struct {
	name     string
	base     quant.Type
	mix      bool   // the _M mixes
	fileType uint32 // general.file_type (llama_ftype)
}

func (p preset) quantized() bool { return p.base != quant.F32 && p.base != quant.F16 }

// parsePreset maps a --type / TYPE name to a preset. general.file_type
// values are llama.cpp's llama_ftype numbers.
func parsePreset(s string) (preset, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	table := map[string]preset{
		"f32":    {base: quant.F32, fileType: 0},
		"f16":    {base: quant.F16, fileType: 1},
		"q4_0":   {base: quant.Q4_0, fileType: 2},
		"q4_1":   {base: quant.Q4_1, fileType: 3},
		"q8_0":   {base: quant.Q8_0, fileType: 7},
		"q5_0":   {base: quant.Q5_0, fileType: 8},
		"q5_1":   {base: quant.Q5_1, fileType: 9},
		"q4_k":   {base: quant.Q4_K, fileType: 14}, // Q4_K_S
		"q4_k_m": {base: quant.Q4_K, mix: true, fileType: 15},
		"q5_k":   {base: quant.Q5_K, fileType: 16}, // Q5_K_S
		"q5_k_m": {base: quant.Q5_K, mix: true, fileType: 17},
		"q6_k":   {base: quant.Q6_K, fileType: 18},
	}
	p, ok := table[name]
	if !ok {
		return preset{}, fmt.Errorf("unknown type %q (want f32, f16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, q4_k_m or q5_k_m)", s)
	}
	p.name = name
	return p, nil
}

var layerRE = regexp.MustCompile(`^blk\.(\d+)\.`)

// layerOf returns N of a "blk.N." tensor name.
func layerOf(name string) (int, bool) {
	m := layerRE.FindStringSubmatch(name)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// useMoreBits is llama.cpp's choice of layers that get more bits in the _M
// mixes: the first and last eighth and every third layer in between.
func useMoreBits(i, n int) bool {
	return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2
}

// typeFor returns the type of a 2-D tensor with cols values per row,
// following llama.cpp's llama-quantize presets (without an importance
// matrix): output.weight (or token_embd when tied) gets Q6_K in every
// quantised preset but Q8_0 (Q8_0 when its rows do not fit the base type's
// blocks); a fused attn_qkv gets Q5_K in Q4_K_M and Q6_K in Q5_K_M;
// attn_v and ffn_down get Q6_K in the useMoreBits layers of Q4_K_M and
// Q5_K_M, and Q5_K in Q4_K_S's first layers (attn_v: 4, ffn_down: an
// eighth); the rest the base type. A K-quant whose row length is not a
// multiple of 256 falls back as llama.cpp does (Q4_K to Q5_0, Q5_K to Q5_1,
// Q6_K to Q8_0).
func (p preset) typeFor(name string, cols, nLayers int, hasOutput bool) quant.Type {
	t := p.base
	layer, _ := layerOf(name)
	isOutput := name == "output.weight" || (!hasOutput && name == "token_embd.weight")
	switch {
	case !p.quantized():
	case isOutput:
		if cols%p.base.BlockSize() != 0 {
			t = quant.Q8_0
		} else if p.base != quant.Q8_0 {
			t = quant.Q6_K
		}
	case p.mix && strings.HasSuffix(name, ".attn_qkv.weight"):
		t = quant.Q5_K
		if p.base == quant.Q5_K {
			t = quant.Q6_K
		}
	case strings.HasSuffix(name, ".attn_v.weight"), strings.HasSuffix(name, ".ffn_down.weight"):
		first := 4 // Q4_K_S: attn_v of the first 4 layers
		if strings.HasSuffix(name, ".ffn_down.weight") {
			first = nLayers / 8
		}
		switch {
		case p.mix && useMoreBits(layer, nLayers):
			t = quant.Q6_K
		case p.name == "q4_k" && layer < first:
			t = quant.Q5_K
		}
	}
	if t.BlockSize() == quant.QK && cols%quant.QK != 0 {
		switch t {
		case quant.Q4_K:
			t = quant.Q5_0
		case quant.Q5_K:
			t = quant.Q5_1
		case quant.Q6_K:
			t = quant.Q8_0
		}
	}
	if cols%t.BlockSize() != 0 {
		t = quant.F16
	}
	return t
}

// rowConverter produces rows as float32 (fill) and writes them converted
// to dst, in parallel chunks of rows but in order.
type rowConverter struct {
	cols    int
	dst     quant.Type
	threads int
	fill    func(row int, out []float32) error // must be safe for concurrent calls on distinct rows
}

func (rc rowConverter) write(w io.Writer, rows int) error {
	threads := rc.threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	rb, err := rc.dst.RowBytes(rc.cols)
	if err != nil {
		return err
	}
	// Chunks of about 4 MiB of float32 per worker.
	per := max(1, (1<<20)/max(rc.cols, 1))
	bufs := make([][]byte, threads)
	flts := make([][]float32, threads)
	for i := range bufs {
		bufs[i] = make([]byte, per*rb)
		flts[i] = make([]float32, rc.cols)
	}
	for lo := 0; lo < rows; lo += per * threads {
		errs := make([]error, threads)
		var wg sync.WaitGroup
		for k := range threads {
			start := lo + k*per
			if start >= rows {
				break
			}
			end := min(start+per, rows)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := start; r < end; r++ {
					if err := rc.fill(r, flts[k]); err != nil {
						errs[k] = err
						return
					}
					if err := quant.Quantize(rc.dst, flts[k], bufs[k][(r-start)*rb:(r-start+1)*rb]); err != nil {
						errs[k] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		for k := range threads {
			start := lo + k*per
			if start >= rows {
				break
			}
			if errs[k] != nil {
				return errs[k]
			}
			end := min(start+per, rows)
			if _, err := w.Write(bufs[k][:(end-start)*rb]); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeFileAtomic writes path through a temporary file renamed into place
// on success, so a failed run leaves no partial file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".maas-*.gguf.tmp")
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("create output: %w", err)
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
