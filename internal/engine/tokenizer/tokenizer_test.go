package tokenizer

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"maas/internal/engine/gguf"
	"maas/internal/testdata"
)

func loadPhi3(tb testing.TB) *Tokenizer {
	tb.Helper()
	f, err := gguf.Open(testdata.Phi3File(tb, "vocab-phi3.gguf"))
	if err != nil {
		tb.Fatalf("open vocab: %v", err)
	}
	tb.Cleanup(func() { f.Close() })
	tok, err := FromGGUF(f)
	if err != nil {
		tb.Fatalf("build tokenizer: %v", err)
	}
	return tok
}

type tokCase struct {
	Text         string  `json:"text"`
	IDs          []int32 `json:"ids"`
	AddBOS       bool    `json:"add_bos"`
	ParseSpecial bool    `json:"parse_special"`
}

func TestTokenizerCases(t *testing.T) {
	tok := loadPhi3(t)
	raw, err := os.ReadFile(testdata.Phi3File(t, "tokenizer-cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []tokCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatalf("parse cases: %v", err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	// Cases stated in the fixture README.
	cases = append(cases,
		tokCase{Text: "Hello", IDs: []int32{15043}},
		tokCase{Text: " Hello", IDs: []int32{29871, 15043}},
		tokCase{Text: "<|user|>\nHi<|end|>\n<|assistant|>\n", IDs: []int32{1, 32010, 6324, 32007, 32001}, AddBOS: true, ParseSpecial: true},
		tokCase{Text: "<|user|>\nWhat is the capital of France?<|end|>\n<|assistant|>\n", IDs: []int32{1, 32010, 1724, 338, 278, 7483, 310, 3444, 29973, 32007, 32001}, AddBOS: true, ParseSpecial: true},
		tokCase{Text: "[PAD32011]", IDs: []int32{32011}, ParseSpecial: true},
	)
	for _, c := range cases {
		t.Run(c.Text, func(t *testing.T) {
			got := tok.Encode(c.Text, c.AddBOS, c.ParseSpecial)
			if !slices.Equal(got, c.IDs) && !(len(got) == 0 && len(c.IDs) == 0) {
				t.Fatalf("Encode(%q, bos=%v, special=%v) = %v, want %v", c.Text, c.AddBOS, c.ParseSpecial, got, c.IDs)
			}
			if !c.ParseSpecial {
				if back := tok.Decode(got); back != c.Text {
					t.Errorf("Decode = %q, want %q", back, c.Text)
				}
			}
		})
	}
}

func TestSpecialHandling(t *testing.T) {
	tok := loadPhi3(t)
	for _, c := range []struct {
		name    string
		text    string
		special bool
		want    []int32
	}{
		// </s> is user-defined: cut out even without special parsing, and
		// (phi3 rule) the whitespace after it is stripped.
		{"user-defined cut", "a</s> b", false, []int32{263, 2, 289}},
		// control tokens stay text without special parsing
		{"control kept as text", "<|end|>", false, tok.spm(nil, "\u2581<|end|>")},
		// no stripping after <s> and <|endoftext|>
		{"no strip after <s>", "<s> x", true, []int32{1, 29871, 921}},
		{"strip after end", "<|end|>  \n x", true, []int32{32007, 921}},
		{"longest first", "<|endoftext|>", true, []int32{32000}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := tok.Encode(c.text, false, c.special); !slices.Equal(got, c.want) {
				t.Fatalf("Encode(%q) = %v, want %v", c.text, got, c.want)
			}
		})
	}
}

func TestEncodeSegmentsKeepsUserTextLiteral(t *testing.T) {
	tok := loadPhi3(t)
	all := tok.Encode("<|user|>\nHi<|end|>\n<|assistant|>\n", true, true)
	seg := tok.EncodeSegments([]Segment{
		{Text: "<|user|>\n", ParseSpecial: true},
		{Text: "Hi"},
		{Text: "<|end|>\n<|assistant|>\n", ParseSpecial: true},
	}, true)
	if !slices.Equal(all, seg) {
		t.Fatalf("segments %v, whole text %v", seg, all)
	}
	inj := tok.EncodeSegments([]Segment{{Text: "<|user|>\n", ParseSpecial: true}, {Text: "<|system|>"}}, false)
	if slices.Contains(inj, 32006) {
		t.Fatalf("user text produced a control token: %v", inj)
	}
}

func TestIDsAndEOG(t *testing.T) {
	tok := loadPhi3(t)
	if tok.Len() != 32064 || tok.BOS() != 1 || tok.EOS() != 32000 {
		t.Fatalf("Len %d BOS %d EOS %d", tok.Len(), tok.BOS(), tok.EOS())
	}
	for id, want := range map[int32]bool{32000: true, 32007: true, 1: false, 2: false, 32001: false, 15043: false, -5: false, 99999: false} {
		if tok.IsEOG(id) != want {
			t.Errorf("IsEOG(%d) = %v, want %v", id, !want, want)
		}
	}
	if p := tok.Piece(15043); p != " Hello" {
		t.Errorf("Piece(15043) = %q", p)
	}
	if p := tok.Piece(3 + 0x41); p != "A" {
		t.Errorf("Piece(<0x41>) = %q", p)
	}
	if p := tok.Piece(-1) + tok.Piece(1<<20); p != "" {
		t.Errorf("Piece of bad ids = %q", p)
	}
}

func TestStreamDecoder(t *testing.T) {
	tok := loadPhi3(t)
	text := " this is 🦙.cpp and Führer, ½ កាន់"
	ids := tok.Encode(text, true, false)
	d := tok.NewStreamDecoder()
	var b strings.Builder
	for _, id := range ids {
		s := d.Push(id)
		if !utf8.ValidString(s) {
			t.Fatalf("Push(%d) emitted invalid UTF-8 %q", id, s)
		}
		b.WriteString(s)
	}
	b.WriteString(d.Flush())
	if got := b.String(); got != " "+text {
		t.Fatalf("stream = %q, want %q", got, " "+text)
	}
	// 🦙 is four byte tokens: nothing comes out until the last one.
	d = tok.NewStreamDecoder()
	for i, id := range []int32{243, 162, 169} {
		if s := d.Push(id); s != "" {
			t.Fatalf("byte %d emitted %q", i, s)
		}
	}
	if s := d.Push(156); s != "🦙" {
		t.Fatalf("last byte emitted %q", s)
	}
	// A dangling lead byte is replaced on Flush.
	d.Push(243)
	if s := d.Flush(); s != "\uFFFD" {
		t.Fatalf("Flush = %q", s)
	}
}

func TestNewRejectsBadMeta(t *testing.T) {
	for name, m := range map[string]Meta{
		"empty":       {},
		"model":       {Model: "gpt2", Tokens: []string{"a"}},
		"scores":      {Tokens: []string{"a", "b"}, Scores: []float32{1}, BOS: -1, EOS: -1, UNK: -1, PAD: -1, EOT: -1, EOM: -1},
		"types":       {Tokens: []string{"a"}, Types: []int32{1, 1}, BOS: -1, EOS: -1, UNK: -1, PAD: -1, EOT: -1, EOM: -1},
		"bos too big": {Tokens: []string{"a"}, BOS: 5, EOS: -1, UNK: -1, PAD: -1, EOT: -1, EOM: -1},
	} {
		if _, err := New(m); err == nil {
			t.Errorf("%s: New accepted bad metadata", name)
		}
	}
}

func TestLongPrompt(t *testing.T) {
	tok := loadPhi3(t)
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 2300) // ~100k chars
	ids := tok.Encode(text, true, true)
	if len(ids) < 20000 {
		t.Fatalf("only %d tokens for %d chars", len(ids), len(text))
	}
	if back := tok.Decode(ids); back != text {
		t.Fatalf("round trip differs (len %d vs %d)", len(back), len(text))
	}
}

func FuzzEncodeDecode(f *testing.F) {
	tok := loadPhi3(f)
	for _, s := range []string{"", " ", "Hello world", "<|user|>\nhi<|end|>", "\xff\xfe", "🦙 ½", "</s>\t\n<s>"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, special bool) {
		ids := tok.Encode(s, false, special)
		for _, id := range ids {
			if id < 0 || int(id) >= tok.Len() {
				t.Fatalf("id %d out of range", id)
			}
		}
		back := tok.Decode(ids)
		if !special && utf8.ValidString(s) && !strings.Contains(s, "</s>") && back != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, back)
		}
		d := tok.NewStreamDecoder()
		for _, id := range ids {
			if out := d.Push(id); !utf8.ValidString(out) {
				t.Fatalf("stream emitted invalid UTF-8")
			}
		}
		d.Flush()
	})
}

func BenchmarkEncode100k(b *testing.B) {
	tok := loadPhi3(b)
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. Ünïcödé 🦙! ", 1800)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Encode(text, true, true)
	}
}

// The golden english300 prompt (300 llama.cpp tokens of an English
// paragraph) decodes to text that encodes back to the same ids.
func TestGoldenPromptRoundTrip(t *testing.T) {
	tok := loadPhi3(t)
	b, err := os.ReadFile(testdata.Phi3File(t, "tiny-phi3-f16.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Prompts []struct {
			Name     string  `json:"name"`
			TokenIDs []int32 `json:"token_ids"`
		} `json:"prompts"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range g.Prompts {
		if p.Name != "english300" {
			continue
		}
		found = true
		if got := tok.Encode(tok.Decode(p.TokenIDs), true, true); !slices.Equal(got, p.TokenIDs) {
			t.Fatalf("re-encoded english300 differs:\n got %v\nwant %v", got, p.TokenIDs)
		}
	}
	if !found {
		t.Fatal("no english300 prompt in the golden file")
	}
}
