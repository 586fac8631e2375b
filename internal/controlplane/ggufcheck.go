package controlplane

import (
	"context"
	"fmt"
	"os"

	"maas/internal/engine/gguf"
)

// GGUFChecker is a WeightsChecker that parses the GGUF header (metadata and
// tensor infos only, no tensor data) and compares the architecture and the
// shape hyper-parameters with the catalog entry. Fields the entry leaves
// empty or zero are not checked.
type GGUFChecker struct{}

// Check implements WeightsChecker.
func (GGUFChecker) Check(_ context.Context, path string, entry CatalogEntry) error {
	fd, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("weights %s: %w", path, err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return fmt.Errorf("weights %s: %w", path, err)
	}
	f, err := gguf.Parse(fd, st.Size())
	if err != nil {
		return fmt.Errorf("weights %s: not a valid GGUF file: %w", path, err)
	}
	arch, _ := f.String("general.architecture")
	if entry.Architecture != "" && arch != entry.Architecture {
		return fmt.Errorf("weights %s: architecture %q, want %q", path, arch, entry.Architecture)
	}
	if entry.Shape == nil {
		return nil
	}
	s := entry.Shape
	for _, c := range []struct {
		key  string
		want int
	}{
		{arch + ".embedding_length", s.EmbeddingLength},
		{arch + ".block_count", s.BlockCount},
		{arch + ".attention.head_count", s.HeadCount},
		{arch + ".attention.head_count_kv", s.HeadCountKV},
		{arch + ".feed_forward_length", s.FeedForwardLength},
		{arch + ".context_length", s.ContextLength},
	} {
		if c.want == 0 {
			continue
		}
		got, ok := f.Uint(c.key)
		if !ok {
			return fmt.Errorf("weights %s: metadata %s is missing", path, c.key)
		}
		if got != uint64(c.want) {
			return fmt.Errorf("weights %s: %s is %d, want %d", path, c.key, got, c.want)
		}
	}
	if s.VocabSize != 0 {
		toks, ok := f.Strings("tokenizer.ggml.tokens")
		if !ok {
			return fmt.Errorf("weights %s: tokenizer.ggml.tokens is missing", path)
		}
		if len(toks) != s.VocabSize {
			return fmt.Errorf("weights %s: vocabulary has %d tokens, want %d", path, len(toks), s.VocabSize)
		}
	}
	return nil
}
