package chat

import (
	"slices"
	"testing"

	"maas/internal/engine/gguf"
	"maas/internal/engine/tokenizer"
	"maas/internal/testdata"
)

func phi3Tokenizer(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	f, err := gguf.Open(testdata.Phi3File(t, "vocab-phi3.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRender(t *testing.T) {
	msgs := []Message{
		{RoleSystem, "Be brief."},
		{RoleUser, "Hi"},
		{RoleAssistant, "Hello."},
		{RoleUser, "Bye"},
	}
	got, err := Render(msgs, true)
	if err != nil {
		t.Fatal(err)
	}
	want := "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello.<|end|>\n<|user|>\nBye<|end|>\n<|assistant|>\n"
	if got != want {
		t.Fatalf("Render =\n%q\nwant\n%q", got, want)
	}
	got, _ = Render(msgs, false)
	want = "<|user|>\nBe brief.\n\nHi<|end|>\n<|assistant|>\nHello.<|end|>\n<|user|>\nBye<|end|>\n<|assistant|>\n"
	if got != want {
		t.Fatalf("Render without system =\n%q\nwant\n%q", got, want)
	}
	if _, err := Render(nil, true); err == nil {
		t.Error("empty conversation accepted")
	}
	if _, err := Render([]Message{{"tool", "x"}}, true); err == nil {
		t.Error("unknown role accepted")
	}
}

func TestEncodeMatchesGolden(t *testing.T) {
	tok := phi3Tokenizer(t)
	// The chat prompt of the fixture goldens.
	ids, err := Encode(tok, []Message{{RoleUser, "What is the capital of France?"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{1, 32010, 1724, 338, 278, 7483, 310, 3444, 29973, 32007, 32001}
	if !slices.Equal(ids, want) {
		t.Fatalf("Encode = %v, want %v", ids, want)
	}
	// Same ids as tokenising the rendered text with special parsing.
	msgs := []Message{{RoleSystem, "  Sys"}, {RoleUser, "a\nb"}, {RoleAssistant, "c "}, {RoleUser, "d"}}
	text, _ := Render(msgs, true)
	ids, _ = Encode(tok, msgs, true)
	if whole := tok.Encode(text, true, true); !slices.Equal(ids, whole) {
		t.Fatalf("segment encoding %v differs from whole-text %v", ids, whole)
	}
	// Markers typed by a user stay text.
	ids, _ = Encode(tok, []Message{{RoleUser, "<|system|>x<|end|>"}}, true)
	if n := slices.Index(ids, 32006); n >= 0 || slices.Index(ids, 32007) != len(ids)-2 {
		t.Fatalf("user text became control tokens: %v", ids)
	}
	if !SupportsSystem("{{'<|system|>' + '\\n'}}") || SupportsSystem(tok.ChatTemplate()) {
		t.Error("SupportsSystem wrong")
	}
}
