package quant

import (
	"bytes"
	"math"
	"testing"

	"maas/internal/testdata"
)

// The Q4_K_M fixture was made by llama-quantize (no importance matrix) from
// the same weights as the F16 fixture. Its Q4_K, Q5_K and Q6_K tensors must
// (1) decode close to the F16 weights and (2) be what our reference
// quantisers produce from those F16 weights, byte for byte.

func TestFixtureKQuants(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 50 MB of fixtures")
	}
	f16, err := readTestGGUF(testdata.Phi3File(t, "tiny-phi3-f16.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	q, err := readTestGGUF(testdata.Phi3File(t, "tiny-phi3-q4_k_m.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[Type]bool{}
	for name, info := range q.tensors {
		if info.typ != Q4_K && info.typ != Q5_K && info.typ != Q6_K {
			continue
		}
		seen[info.typ] = true
		t.Run(name, func(t *testing.T) {
			qt, qb, n, err := q.tensor(name)
			if err != nil {
				t.Fatal(err)
			}
			ft, fb, fn, err := f16.tensor(name)
			if err != nil || ft.typ != F16 || fn != n {
				t.Fatalf("F16 counterpart: type %s, %d values, %v", ft.typ, fn, err)
			}
			ref := make([]float32, n)
			if err := Dequantize(F16, fb, ref); err != nil {
				t.Fatal(err)
			}
			got := make([]float32, n)
			if err := Dequantize(qt.typ, qb, got); err != nil {
				t.Fatal(err)
			}
			var se, sx float64
			for i := range ref {
				d := float64(got[i] - ref[i])
				se += d * d
				sx += float64(ref[i]) * float64(ref[i])
			}
			rel := math.Sqrt(se / sx)
			if rel > roundTripBound[qt.typ] {
				t.Errorf("%s decodes %.4f (relative RMS) away from F16, bound %.4f", qt.typ, rel, roundTripBound[qt.typ])
			}
			mine := make([]byte, len(qb))
			if err := Quantize(qt.typ, ref, mine); err != nil {
				t.Fatal(err)
			}
			bb := qt.typ.BlockBytes()
			nb := len(qb) / bb
			same := 0
			for b := range nb {
				if bytes.Equal(mine[b*bb:(b+1)*bb], qb[b*bb:(b+1)*bb]) {
					same++
				}
			}
			t.Logf("%s %v: relative RMS %.4f, %d/%d blocks identical to llama-quantize", qt.typ, qt.ne, rel, same, nb)
			if same != nb {
				t.Errorf("only %d of %d blocks identical to llama-quantize's", same, nb)
			}
		})
	}
	for _, typ := range []Type{Q4_K, Q5_K, Q6_K} {
		if !seen[typ] {
			t.Errorf("fixture has no %s tensor", typ)
		}
	}
}
