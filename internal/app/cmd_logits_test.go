package app

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"maas/internal/testdata"
)

// TestLogitsCommand runs the chat prompt of the F16 golden through the
// command and compares the file with llama.cpp's logits (tolerance as in
// phi3's golden test).
func TestLogitsCommand(t *testing.T) {
	model := testdata.Phi3File(t, "tiny-phi3-f16.gguf")
	var g struct {
		Prompts []struct {
			TokenIDs []int32 `json:"token_ids"`
			Logits   struct {
				RowOffset int `json:"row_offset"`
			} `json:"logits"`
		} `json:"prompts"`
	}
	b, err := os.ReadFile(testdata.Phi3File(t, "tiny-phi3-f16.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(testdata.Phi3File(t, "tiny-phi3-f16.golden-logits.bin"))
	if err != nil {
		t.Fatal(err)
	}
	p := g.Prompts[0]
	var ids []string
	for _, id := range p.TokenIDs {
		ids = append(ids, strconv.Itoa(int(id)))
	}
	out := filepath.Join(t.TempDir(), "l.bin")
	if msg, err := runEngineCmd(t, "logits", "--model", model, "--tokens", strings.Join(ids, ","), "--ctx", "1024", "--out", out); err != nil {
		t.Fatalf("logits: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	const V = 32064
	if len(got) != len(p.TokenIDs)*V*4 {
		t.Fatalf("%d bytes, want %d", len(got), len(p.TokenIDs)*V*4)
	}
	off := p.Logits.RowOffset * V * 4
	var worst float64
	for i := 0; i < len(got); i += 4 {
		a := math.Float32frombits(binary.LittleEndian.Uint32(got[i:]))
		w := math.Float32frombits(binary.LittleEndian.Uint32(want[off+i:]))
		worst = max(worst, math.Abs(float64(a-w)))
	}
	if worst > 0.01 {
		t.Errorf("max abs diff from llama.cpp %g > 0.01", worst)
	}
}

func TestLogitsErrors(t *testing.T) {
	dir := t.TempDir()
	model := testdata.Phi3File(t, "tiny-phi3-f16.gguf")
	cases := [][]string{
		{"logits", "--model", model, "--out", filepath.Join(dir, "x")},
		{"logits", "--model", model, "--tokens", "1,x", "--out", filepath.Join(dir, "x")},
		{"logits", "--model", model, "--tokens", "1,99999", "--out", filepath.Join(dir, "x")},
		{"logits", "--model", model, "--tokens", "1,2,3", "--ctx", "2", "--out", filepath.Join(dir, "x")},
		{"logits", "--model", filepath.Join(dir, "none.gguf"), "--tokens", "1", "--out", filepath.Join(dir, "x")},
	}
	for _, c := range cases {
		if _, err := runEngineCmd(t, c...); err == nil {
			t.Errorf("%v: no error", c[1:])
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Errorf("failed runs left an output file")
	}
}
