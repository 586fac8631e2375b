package tokenizer

import (
	"fmt"

	"maas/internal/engine/gguf"
)

// FromGGUF builds the tokenizer described by a GGUF file's tokenizer.*
// metadata. A file holding only the vocabulary (no tensors) is enough.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	m, err := MetaFromGGUF(f)
	if err != nil {
		return nil, err
	}
	return New(m)
}

// MetaFromGGUF reads the tokenizer metadata, checking each known key's type.
func MetaFromGGUF(f *gguf.File) (Meta, error) {
	var m Meta
	model, ok := f.String("tokenizer.ggml.model")
	if !ok {
		return m, fmt.Errorf("read tokenizer metadata: key %q missing or not a string", "tokenizer.ggml.model")
	}
	m.Model = model
	if m.Tokens, ok = f.Strings("tokenizer.ggml.tokens"); !ok {
		return m, fmt.Errorf("read tokenizer metadata: key %q missing or not an array of strings", "tokenizer.ggml.tokens")
	}
	if v, present := f.KV("tokenizer.ggml.scores"); present {
		if m.Scores, ok = f.Float32s("tokenizer.ggml.scores"); !ok {
			return m, fmt.Errorf("read tokenizer metadata: key %q has type %s, want an array of float32", "tokenizer.ggml.scores", v.Elem)
		}
	}
	if v, present := f.KV("tokenizer.ggml.token_type"); present {
		switch s := v.Any().(type) {
		case []int32:
			m.Types = s
		case []uint32:
			m.Types = make([]int32, len(s))
			for i, x := range s {
				m.Types[i] = int32(x)
			}
		default:
			return m, fmt.Errorf("read tokenizer metadata: key %q has element type %s, want int32", "tokenizer.ggml.token_type", v.Elem)
		}
	}
	ids := []struct {
		key string
		dst *int32
		def int32
	}{
		{"tokenizer.ggml.bos_token_id", &m.BOS, 1},
		{"tokenizer.ggml.eos_token_id", &m.EOS, 2},
		{"tokenizer.ggml.unknown_token_id", &m.UNK, 0},
		{"tokenizer.ggml.padding_token_id", &m.PAD, -1},
		{"tokenizer.ggml.eot_token_id", &m.EOT, -1},
		{"tokenizer.ggml.eom_token_id", &m.EOM, -1},
	}
	for _, k := range ids {
		*k.dst = k.def
		if _, present := f.KV(k.key); !present {
			continue
		}
		x, ok := f.Uint(k.key)
		if !ok || x >= uint64(len(m.Tokens)) {
			return m, fmt.Errorf("read tokenizer metadata: key %q is not a token id below %d", k.key, len(m.Tokens))
		}
		*k.dst = int32(x)
	}
	flags := []struct {
		key string
		dst *bool
		def bool
	}{
		{"tokenizer.ggml.add_bos_token", &m.AddBOS, true},
		{"tokenizer.ggml.add_eos_token", &m.AddEOS, false},
		{"tokenizer.ggml.add_space_prefix", &m.AddSpacePrefix, true},
	}
	for _, k := range flags {
		*k.dst = k.def
		if _, present := f.KV(k.key); !present {
			continue
		}
		b, ok := f.Bool(k.key)
		if !ok {
			return m, fmt.Errorf("read tokenizer metadata: key %q is not a bool", k.key)
		}
		*k.dst = b
	}
	m.Name, _ = f.String("general.name")
	m.ChatTemplate, _ = f.String("tokenizer.chat_template")
	return m, nil
}
