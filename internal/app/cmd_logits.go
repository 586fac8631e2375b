package app

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"maas/internal/engine/phi3"
)

// runLogits runs token ids as one prompt and writes the logits of every
// position:
//
//	maas logits --model FILE --tokens 1,2,3 [--ctx N] --out FILE.bin
//
// The output is float32 little-endian, row-major [positions x vocabulary].
// --ctx is the context the sequence is configured with; it also selects a
// LongRoPE model's long (ctx > original context) or short factors.
func runLogits(ctx context.Context, args []string, env Env) error {
	fs := newFlags("logits", env)
	model := fs.String("model", "", "phi3 GGUF `file` (required)")
	tokens := fs.String("tokens", "", "comma-separated token `ids` (required)")
	ctxLen := fs.Int("ctx", 4096, "context size of the sequence")
	out := fs.String("out", "", "output `file` for float32 logits (required)")
	threads := fs.Int("threads", 0, "worker goroutines (0: all CPUs)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: maas logits --model FILE --tokens 1,2,3 [--ctx N] --out FILE.bin")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" || *tokens == "" || *out == "" || fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("%w: --model, --tokens and --out are required", errUsage)
	}
	ids, err := parseTokenIDs(*tokens)
	if err != nil {
		return fmt.Errorf("%w: --tokens: %v", errUsage, err)
	}
	if *ctxLen <= 0 {
		return fmt.Errorf("%w: --ctx must be positive", errUsage)
	}
	m, err := phi3.Load(*model, phi3.Options{Threads: *threads})
	if err != nil {
		return err
	}
	defer m.Close()
	cache, err := m.NewCache(*ctxLen)
	if err != nil {
		return err
	}
	n := len(ids)
	b := phi3.Batch{Tokens: ids, Pos: make([]int32, n), Seq: make([]int, n), Logits: make([]bool, n)}
	for i := range n {
		b.Pos[i] = int32(i)
		b.Logits[i] = true
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	logits, err := m.Forward(b, []*phi3.Cache{cache})
	if err != nil {
		return fmt.Errorf("run %d tokens: %w", n, err)
	}
	return writeFileAtomic(*out, func(w io.Writer) error { return writeFloat32s(w, logits) })
}

// parseTokenIDs parses "1,2,3" (spaces allowed) into ids.
func parseTokenIDs(s string) ([]int32, error) {
	var ids []int32
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		v, err := strconv.ParseInt(part, 10, 32)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("item %d (%q) is not a token id", i+1, part)
		}
		ids = append(ids, int32(v))
	}
	return ids, nil
}

// writeFloat32s writes x as little-endian float32.
func writeFloat32s(w io.Writer, x []float32) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var b [4]byte
	for _, v := range x {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		if _, err := bw.Write(b[:]); err != nil {
			return err
		}
	}
	return bw.Flush()
}
