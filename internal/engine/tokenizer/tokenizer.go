// Package tokenizer implements the SentencePiece-style ("llama" in GGUF terms)
// tokenizer used by Phi-3: score-driven pair merges over UTF-8 characters,
// byte fallback to <0xNN> tokens, the leading-space rule, and special tokens
// cut out of the text before merging. It reproduces llama.cpp's behaviour,
// including the Phi-3 rule that strips whitespace after special tokens.
//
// The package imports only the standard library and engine/gguf. It is used by
// engine/chat, engine/sched, the engine facade and the commands.
package tokenizer

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Token types as stored in tokenizer.ggml.token_type.
const (
	TypeNormal      int32 = 1
	TypeUnknown     int32 = 2
	TypeControl     int32 = 3
	TypeUserDefined int32 = 4
	TypeUnused      int32 = 5
	TypeByte        int32 = 6
)

// ErrUnsupported is returned for a tokenizer model other than "llama".
var ErrUnsupported = errors.New("tokenizer: unsupported tokenizer model")

// Meta is the tokenizer description read from GGUF metadata.
type Meta struct {
	Model  string    // tokenizer.ggml.model; "" or "llama"
	Tokens []string  // tokenizer.ggml.tokens
	Scores []float32 // tokenizer.ggml.scores; nil means all 0
	Types  []int32   // tokenizer.ggml.token_type; nil means all normal

	// Special ids; -1 when absent.
	BOS, EOS, UNK, PAD, EOT, EOM int32

	AddBOS         bool // tokenizer.ggml.add_bos_token
	AddEOS         bool // tokenizer.ggml.add_eos_token
	AddSpacePrefix bool // tokenizer.ggml.add_space_prefix (true when absent)

	// Name is general.name; a name containing "phi3" or "phi-3" turns on the
	// Phi-3 whitespace stripping after special tokens (as llama.cpp does).
	Name         string
	ChatTemplate string // tokenizer.chat_template, may be ""
}

// Tokenizer encodes text to token ids and back. It is immutable and safe for
// concurrent use.
type Tokenizer struct {
	pieces   []string // token text with ▁ in place of spaces, as stored
	scores   []float32
	types    []int32
	rstrip   []bool // strip whitespace that follows this special token
	byID     map[string]int32
	byteTok  [256]int32 // <0xNN> ids; unk when missing
	specials []int32    // cut-out candidates, longest text first
	eog      map[int32]bool

	bos, eos, unk, pad, eot int32
	addBOS, addEOS          bool
	addSpacePrefix          bool
	chatTemplate            string
}

// New builds a tokenizer from metadata. It validates array lengths and
// special ids so that later lookups never index out of range.
func New(m Meta) (*Tokenizer, error) {
	if m.Model != "" && m.Model != "llama" {
		return nil, fmt.Errorf("%w %q (only \"llama\" is implemented)", ErrUnsupported, m.Model)
	}
	n := len(m.Tokens)
	if n == 0 {
		return nil, errors.New("tokenizer: no tokens in vocabulary")
	}
	if m.Scores != nil && len(m.Scores) != n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens", len(m.Scores), n)
	}
	if m.Types != nil && len(m.Types) != n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(m.Types), n)
	}
	t := &Tokenizer{
		pieces:         m.Tokens,
		scores:         m.Scores,
		types:          m.Types,
		rstrip:         make([]bool, n),
		byID:           make(map[string]int32, n),
		eog:            map[int32]bool{},
		addBOS:         m.AddBOS,
		addEOS:         m.AddEOS,
		addSpacePrefix: m.AddSpacePrefix,
		chatTemplate:   m.ChatTemplate,
	}
	if t.scores == nil {
		t.scores = make([]float32, n)
	}
	if t.types == nil {
		t.types = make([]int32, n)
		for i := range t.types {
			t.types[i] = TypeNormal
		}
	}
	for name, id := range map[string]*int32{"bos": &m.BOS, "eos": &m.EOS, "unk": &m.UNK, "pad": &m.PAD, "eot": &m.EOT, "eom": &m.EOM} {
		if *id < -1 || int(*id) >= n {
			return nil, fmt.Errorf("tokenizer: %s token id %d outside vocabulary of %d", name, *id, n)
		}
	}
	t.bos, t.eos, t.unk, t.pad, t.eot = m.BOS, m.EOS, m.UNK, m.PAD, m.EOT
	for i, s := range m.Tokens {
		t.byID[s] = int32(i) // a later duplicate wins, as in llama.cpp
	}
	for b := 0; b < 256; b++ {
		t.byteTok[b] = t.unk
		if id, ok := t.byID[fmt.Sprintf("<0x%02X>", b)]; ok {
			t.byteTok[b] = id
		}
	}
	for i, ty := range t.types {
		if (ty == TypeControl || ty == TypeUserDefined || ty == TypeUnknown) && m.Tokens[i] != "" {
			t.specials = append(t.specials, int32(i))
		}
	}
	sort.SliceStable(t.specials, func(a, b int) bool {
		return len(m.Tokens[t.specials[a]]) > len(m.Tokens[t.specials[b]])
	})
	name := strings.ToLower(m.Name)
	if strings.Contains(name, "phi3") || strings.Contains(name, "phi-3") {
		for _, id := range t.specials {
			t.rstrip[id] = true
		}
		for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			if id, ok := t.byID[s]; ok {
				t.rstrip[id] = false
			}
		}
	}
	for _, id := range []int32{m.EOS, m.EOT, m.EOM} {
		if id >= 0 {
			t.eog[id] = true
		}
	}
	for _, s := range []string{"<|endoftext|>", "<|end|>", "<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<end_of_turn>", "<|end_of_text|>"} {
		if id, ok := t.byID[s]; ok && t.types[id] == TypeControl {
			t.eog[id] = true
		}
	}
	return t, nil
}

// Len returns the vocabulary size.
func (t *Tokenizer) Len() int { return len(t.pieces) }

// BOS returns the beginning-of-sequence id, or -1.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS returns the end-of-sequence id, or -1.
func (t *Tokenizer) EOS() int32 { return t.eos }

// EOT returns the end-of-turn id, or -1.
func (t *Tokenizer) EOT() int32 { return t.eot }

// ChatTemplate returns tokenizer.chat_template ("" when absent).
func (t *Tokenizer) ChatTemplate() string { return t.chatTemplate }

// IsEOG reports whether id ends generation (EOS, EOT, EOM and the control
// tokens <|endoftext|>, <|end|> and their kin).
func (t *Tokenizer) IsEOG(id int32) bool { return t.eog[id] }

// EOGs returns the end-of-generation ids in increasing order.
func (t *Tokenizer) EOGs() []int32 {
	out := make([]int32, 0, len(t.eog))
	for id := range t.eog {
		out = append(out, id)
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

// Type returns the token type of id (0 for an id outside the vocabulary).
func (t *Tokenizer) Type(id int32) int32 {
	if id < 0 || int(id) >= len(t.types) {
		return 0
	}
	return t.types[id]
}

// ID returns the id of a token text exactly as stored (with ▁ for spaces).
func (t *Tokenizer) ID(text string) (int32, bool) {
	id, ok := t.byID[text]
	return id, ok
}

// Piece returns the bytes a token stands for: normal and user-defined tokens
// with ▁ turned into spaces, byte tokens as their single byte, control and
// unknown tokens as their text. An id outside the vocabulary gives "".
func (t *Tokenizer) Piece(id int32) string {
	if id < 0 || int(id) >= len(t.pieces) {
		return ""
	}
	s := t.pieces[id]
	switch t.types[id] {
	case TypeByte:
		if b, ok := parseByteToken(s); ok {
			return string([]byte{b})
		}
		return s
	case TypeControl, TypeUnknown:
		return s
	default:
		return strings.ReplaceAll(s, "\u2581", " ")
	}
}

// render returns the bytes that decoding emits for id: control tokens give
// nothing, everything else its Piece.
func (t *Tokenizer) render(id int32) string {
	if id < 0 || int(id) >= len(t.pieces) || t.types[id] == TypeControl {
		return ""
	}
	return t.Piece(id)
}

// Decode turns ids back into text. Control tokens (BOS, <|end|>, ...) are
// left out, and the space that encoding prefixed to the text is removed, so
// Decode(Encode(s, ...)) == s for text without special tokens. The result may
// hold invalid UTF-8 when ids end inside a multi-byte character.
func (t *Tokenizer) Decode(ids []int32) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(t.render(id))
	}
	s := b.String()
	if t.addSpacePrefix && strings.HasPrefix(s, " ") {
		s = s[1:]
	}
	return s
}

// parseByteToken parses "<0xNN>".
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || s[:3] != "<0x" || s[5] != '>' {
		return 0, false
	}
	var v byte
	for _, c := range []byte(s[3:5]) {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}
