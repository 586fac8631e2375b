package app

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"maas/internal/engine/gguf"
	"maas/internal/engine/phi3"
	"maas/internal/testdata"
)

// TestSynthTiny writes tiny models of several types, loads them, checks
// the metadata and vocabulary and that the logits are finite with a sane
// spread; the same seed must give the same file.
func TestSynthTiny(t *testing.T) {
	vocab := testdata.Phi3File(t, "vocab-phi3.gguf")
	dir := t.TempDir()
	types := []string{"f16", "q8_0", "q4_k_m"}
	if testing.Short() {
		types = []string{"q4_k_m"}
	}
	for _, typ := range types {
		path := filepath.Join(dir, typ+".gguf")
		if msg, err := runEngineCmd(t, "synth", "--shape", "tiny", "--type", typ, "--vocab", vocab, "--seed", "7", "-o", path); err != nil {
			t.Fatalf("synth %s: %v\n%s", typ, err, msg)
		}
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if toks, ok := f.Strings("tokenizer.ggml.tokens"); !ok || len(toks) != 32064 {
			t.Errorf("%s: tokenizer tokens %d", typ, len(toks))
		}
		if _, ok := f.String("tokenizer.chat_template"); !ok {
			t.Errorf("%s: chat template not copied", typ)
		}
		if typ == "q4_k_m" {
			ti, _ := f.Tensor("blk.1.ffn_down.weight")
			if ti.TypeName() != "Q6_K" {
				t.Errorf("q4_k_m: blk.1.ffn_down is %s, want Q6_K", ti.TypeName())
			}
		}
		m, err := phi3.New(f, phi3.Options{Threads: 2})
		if err != nil {
			t.Fatalf("%s: load: %v", typ, err)
		}
		c, _ := m.NewCache(64)
		logits, err := m.Forward(phi3.Batch{Tokens: []int32{1, 450, 4996}, Pos: []int32{0, 1, 2}, Seq: []int{0, 0, 0}, Logits: []bool{false, false, true}}, []*phi3.Cache{c})
		if err != nil {
			t.Fatal(err)
		}
		var sum, sq float64
		for _, v := range logits {
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
		n := float64(len(logits))
		std := sq/n - (sum/n)*(sum/n)
		if !(std > 1 && std < 100) { // variance: standard deviation between 1 and 10
			t.Errorf("%s: logit variance %g", typ, std)
		}
		m.Close()
		f.Close()
	}
	// Determinism: the same seed gives the same bytes.
	again := filepath.Join(dir, "again.gguf")
	if _, err := runEngineCmd(t, "synth", "--shape", "tiny", "--type", "q4_k_m", "--vocab", vocab, "--seed", "7", "-o", again, "--threads", "1"); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "q4_k_m.gguf"))
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Errorf("same seed, different thread count: files differ")
	}
}

// TestSynthShapes checks the big shapes' metadata without writing them.
func TestSynthShapes(t *testing.T) {
	p, _ := parsePreset("f16")
	for name, want := range map[string][5]int{"mini": {3072, 8192, 32, 32, 32}, "medium": {5120, 17920, 40, 40, 10}, "mini-128k": {3072, 8192, 32, 32, 32}} {
		s := synthShapes[name]
		s.vocab = 32064
		var buf bytes.Buffer
		if err := gguf.Write(&buf, s.metadata("x", p), nil, nil); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.ParseBytes(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := phi3.ConfigFromGGUF(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := [5]int{cfg.Embd, cfg.FFN, cfg.Layers, cfg.Heads, cfg.KVHeads}
		if got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
		if cfg.SlidingWindow == 0 || cfg.RopeDims != cfg.HeadDim || cfg.Eps != 1e-5 || cfg.RopeBase != 10000 {
			t.Errorf("%s: %+v", name, cfg)
		}
		if name == "mini-128k" && (cfg.ContextLength != 131072 || cfg.OrigContext != 4096 || cfg.AttnFactor < 1.19 || cfg.AttnFactor > 1.191) {
			t.Errorf("mini-128k: %+v", cfg)
		}
		if name != "mini-128k" && cfg.ContextLength != 4096 {
			t.Errorf("%s: context %d", name, cfg.ContextLength)
		}
	}
}
