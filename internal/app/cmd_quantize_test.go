package app

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"maas/internal/engine/gguf"
	"maas/internal/testdata"
)

// runEngineCmd runs logits, synth or quantize in-process and returns its output and error.
func runEngineCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	var err error
	switch args[0] {
	case "quantize":
		err = runQuantize(context.Background(), args[1:], env)
	case "synth":
		err = runSynth(context.Background(), args[1:], env)
	case "logits":
		err = runLogits(context.Background(), args[1:], env)
	}
	return out.String() + errb.String(), err
}

// TestQuantizeMatchesLlamaQuantize converts the F16 fixture to Q4_K_M and
// checks every tensor against the fixture llama.cpp's llama-quantize wrote
// from the same weights: same types (the preset's mix) and the same bytes.
func TestQuantizeMatchesLlamaQuantize(t *testing.T) {
	in := testdata.Phi3File(t, "tiny-phi3-f16.gguf")
	ref, err := gguf.Open(testdata.Phi3File(t, "tiny-phi3-q4_k_m.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	out := filepath.Join(t.TempDir(), "q.gguf")
	if msg, err := runEngineCmd(t, "quantize", "--threads", "2", in, out, "q4_k_m"); err != nil {
		t.Fatalf("quantize: %v\n%s", err, msg)
	}
	got, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if ft, _ := got.Uint("general.file_type"); ft != 15 {
		t.Errorf("general.file_type = %d, want 15", ft)
	}
	if len(got.Tensors()) != len(ref.Tensors()) {
		t.Fatalf("%d tensors, want %d", len(got.Tensors()), len(ref.Tensors()))
	}
	for _, rt := range ref.Tensors() {
		gt, ok := got.Tensor(rt.Name)
		if !ok {
			t.Errorf("tensor %q missing", rt.Name)
			continue
		}
		if gt.Type != rt.Type {
			t.Errorf("tensor %q: type %s, llama-quantize wrote %s", rt.Name, gt.TypeName(), rt.TypeName())
			continue
		}
		a, _ := got.Data(gt)
		b, _ := ref.Data(rt)
		if !bytes.Equal(a, b) {
			t.Errorf("tensor %q (%s): bytes differ from llama-quantize", rt.Name, rt.TypeName())
		}
	}
}

func TestQuantizeErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := runEngineCmd(t, "quantize", "a", "b"); err == nil {
		t.Errorf("two arguments accepted")
	}
	if _, err := runEngineCmd(t, "quantize", "a.gguf", filepath.Join(dir, "b.gguf"), "q3_xx"); err == nil {
		t.Errorf("unknown type accepted")
	}
	if _, err := runEngineCmd(t, "quantize", filepath.Join(dir, "missing.gguf"), filepath.Join(dir, "b.gguf"), "q8_0"); err == nil {
		t.Errorf("missing input accepted")
	}
}

func TestPresetTypes(t *testing.T) {
	p, _ := parsePreset("Q5_K_M")
	cases := []struct {
		name string
		cols int
		want string
	}{
		{"blk.0.attn_qkv.weight", 3072, "Q6_K"},
		{"blk.0.ffn_down.weight", 8192, "Q6_K"},  // first eighth
		{"blk.4.ffn_down.weight", 8192, "Q5_K"},  // (4-4)%3 != 2
		{"blk.6.ffn_down.weight", 8192, "Q6_K"},  // (6-4)%3 == 2
		{"blk.31.ffn_down.weight", 8192, "Q6_K"}, // last eighth
		{"blk.3.ffn_up.weight", 3072, "Q5_K"},
		{"output.weight", 3072, "Q6_K"},
		{"token_embd.weight", 3072, "Q5_K"},
		{"blk.3.ffn_up.weight", 100, "F16"},
	}
	for _, c := range cases {
		if got := p.typeFor(c.name, c.cols, 32, true).String(); got != c.want {
			t.Errorf("Q5_K_M %s: %s, want %s", c.name, got, c.want)
		}
	}
	for _, c := range []struct {
		preset, name string
		cols, layers int
		want         string
	}{
		{"q4_k", "blk.0.ffn_up.weight", 96, 2, "Q5_0"},      // K-quant fallback
		{"q4_k", "blk.3.ffn_down.weight", 8192, 32, "Q5_K"}, // Q4_K_S: first eighth
		{"q4_k", "blk.4.ffn_down.weight", 8192, 32, "Q4_K"},
		{"q4_0", "output.weight", 3072, 32, "Q6_K"},
		{"q4_0", "blk.0.ffn_down.weight", 8192, 32, "Q4_0"},
		{"q4_0", "token_embd.weight", 3072, 32, "Q4_0"},
		{"q8_0", "output.weight", 3072, 32, "Q8_0"},
		{"q5_1", "output.weight", 96, 2, "Q8_0"}, // rows too short for Q6_K
		{"f16", "output.weight", 3072, 32, "F16"},
	} {
		p, _ := parsePreset(c.preset)
		if got := p.typeFor(c.name, c.cols, c.layers, true).String(); got != c.want {
			t.Errorf("%s %s (%d cols): %s, want %s", c.preset, c.name, c.cols, got, c.want)
		}
	}
	q, _ := parsePreset("q4_0")
	if got := q.typeFor("token_embd.weight", 3072, 32, false).String(); got != "Q6_K" {
		t.Errorf("q4_0 tied token_embd: %s, want Q6_K", got)
	}
}
