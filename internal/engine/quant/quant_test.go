package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Relative RMS error bounds of a quantise/dequantise round trip on N(0,1)
// data (RMS(error)/RMS(x)), about 1.25x the measured value for each type.
var roundTripBound = map[Type]float64{ // read-only
	F32: 0, F16: 2.7e-4, BF16: 2.1e-3,
	Q8_0: 7e-3, Q8_1: 7e-3, Q8_K: 9e-3,
	Q4_0: 0.11, Q4_1: 0.10, Q5_0: 0.055, Q5_1: 0.048,
	Q4_K: 0.09, Q5_K: 0.046, Q6_K: 0.023,
}

// dotTol bounds |VecDot - float dot of the dequantised operands| relative to
// Σ|w_i a_i|: only float32 rounding of per-block scaling separates them.
const dotTol = 2e-5

func randNormal(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func allTypes() []Type {
	return []Type{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q4_K, Q5_K, Q6_K, Q8_K}
}

func TestBlockSizes(t *testing.T) {
	// Sizes from ggml-common.h's static_asserts.
	want := map[Type][2]int{
		F32: {1, 4}, F16: {1, 2}, BF16: {1, 2},
		Q4_0: {32, 18}, Q4_1: {32, 20}, Q5_0: {32, 22}, Q5_1: {32, 24}, Q8_0: {32, 34}, Q8_1: {32, 36},
		Q2_K: {256, 84}, Q3_K: {256, 110}, Q4_K: {256, 144}, Q5_K: {256, 176}, Q6_K: {256, 210}, Q8_K: {256, 292},
	}
	for typ, w := range want {
		if typ.BlockSize() != w[0] || typ.BlockBytes() != w[1] {
			t.Errorf("%s: block %d values / %d bytes, want %d / %d", typ, typ.BlockSize(), typ.BlockBytes(), w[0], w[1])
		}
		if n, err := typ.RowBytes(3072); err != nil || n != 3072/w[0]*w[1] {
			t.Errorf("%s.RowBytes(3072) = %d, %v", typ, n, err)
		}
	}
	if _, err := Q4_K.RowBytes(100); err == nil {
		t.Error("Q4_K.RowBytes(100): no error for a partial block")
	}
	if _, err := Type(99).RowBytes(32); err == nil {
		t.Error("RowBytes of an unknown type: no error")
	}
}

func TestParseType(t *testing.T) {
	for _, typ := range append(allTypes(), Q2_K, Q3_K) {
		for _, s := range []string{typ.String(), " " + typ.String() + " "} {
			got, err := ParseType(s)
			if err != nil || got != typ {
				t.Errorf("ParseType(%q) = %v, %v", s, got, err)
			}
		}
	}
	if got, err := ParseType("q4_k"); err != nil || got != Q4_K {
		t.Errorf("ParseType(q4_k) = %v, %v", got, err)
	}
	for _, s := range []string{"", "q4", "Q4_K_M", "f64"} {
		if _, err := ParseType(s); err == nil {
			t.Errorf("ParseType(%q): no error", s)
		}
	}
	if s := Type(77).String(); s != "type(77)" {
		t.Errorf("String of unknown type = %q", s)
	}
}

func TestSupportedAndVecDotType(t *testing.T) {
	want := map[Type]Type{F32: F32, F16: F16, BF16: BF16, Q8_0: Q8_0, Q4_0: Q8_0, Q5_0: Q8_0,
		Q4_1: Q8_1, Q5_1: Q8_1, Q4_K: Q8_K, Q5_K: Q8_K, Q6_K: Q8_K}
	for _, typ := range append(allTypes(), Q2_K, Q3_K, Type(5)) {
		vt, ok := want[typ]
		if typ.Supported() != ok {
			t.Errorf("%s.Supported() = %v", typ, typ.Supported())
		}
		if ok && VecDotType(typ) != vt {
			t.Errorf("VecDotType(%s) = %s, want %s", typ, VecDotType(typ), vt)
		}
	}
}

func TestFP16(t *testing.T) {
	// Every finite half survives a round trip through float32.
	for h := range 1 << 16 {
		f := FP16ToFloat32(uint16(h))
		if f != f {
			if g := Float32ToFP16(f); g&0x7c00 != 0x7c00 || g&0x3ff == 0 {
				t.Fatalf("NaN %#04x -> %#04x", h, g)
			}
			continue
		}
		if g := Float32ToFP16(f); g != uint16(h) {
			t.Fatalf("round trip %#04x -> %v -> %#04x", h, f, g)
		}
	}
	cases := []struct {
		f float32
		h uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {1e-8, 0}, {5.960464477539063e-08, 1},
		{1 + 1.0/2048, 0x3c00},             // tie, rounds to even
		{1 + 3.0/2048, 0x3c02},             // tie, rounds to even (up)
		{1 + 1.0/2048 + 1.0/65536, 0x3c01}, // above the tie
		{float32(math.Inf(-1)), 0xfc00},
	}
	for _, c := range cases {
		if got := Float32ToFP16(c.f); got != c.h {
			t.Errorf("Float32ToFP16(%v) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	// Nearest-value check against float64 arithmetic on random inputs.
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		f := float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-28)))
		h := Float32ToFP16(f)
		got := float64(FP16ToFloat32(h))
		lo, hi := float64(FP16ToFloat32(h-1)), float64(FP16ToFloat32(h+1))
		if d := math.Abs(got - float64(f)); d > math.Abs(lo-float64(f)) || d > math.Abs(hi-float64(f)) && h&0x7fff != 0x7bff {
			t.Fatalf("Float32ToFP16(%v) = %v: a neighbour is nearer", f, got)
		}
	}
	if got := Float32ToBF16(1.00390625); got != 0x3f80 { // tie -> even
		t.Errorf("Float32ToBF16 tie = %#04x", got)
	}
	if got := Float32ToBF16(1.01171875); got != 0x3f82 {
		t.Errorf("Float32ToBF16 tie up = %#04x", got)
	}
	if got := BF16ToFloat32(0xc040); got != -3 {
		t.Errorf("BF16ToFloat32(0xc040) = %v", got)
	}
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 256 * 64
	x := randNormal(r, n)
	for _, typ := range allTypes() {
		t.Run(typ.String(), func(t *testing.T) {
			size, _ := typ.RowBytes(n)
			buf := make([]byte, size)
			if err := Quantize(typ, x, buf); err != nil {
				t.Fatal(err)
			}
			y := make([]float32, n)
			if err := Dequantize(typ, buf, y); err != nil {
				t.Fatal(err)
			}
			var se, sx float64
			for i := range x {
				d := float64(y[i] - x[i])
				se += d * d
				sx += float64(x[i]) * float64(x[i])
			}
			rel := math.Sqrt(se / sx)
			t.Logf("relative RMS error %.5f", rel)
			if rel > roundTripBound[typ] {
				t.Errorf("relative RMS error %.5f > bound %.5f", rel, roundTripBound[typ])
			}
		})
	}
}

// Per-block error bounds that follow from the formats: symmetric 8-bit types
// are within half a step of every value.
func TestQ8HalfStep(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := randNormal(r, 1024)
	for _, typ := range []Type{Q8_0, Q8_K} {
		for _, act := range []bool{false, true} {
			buf := make([]byte, mustRowBytes(t, typ, len(x)))
			if err := quantize(typ, x, buf, act); err != nil {
				t.Fatal(err)
			}
			y := make([]float32, len(x))
			if err := Dequantize(typ, buf, y); err != nil {
				t.Fatal(err)
			}
			bs := typ.BlockSize()
			for b := 0; b < len(x)/bs; b++ {
				_, amax := absMax(x[b*bs : (b+1)*bs])
				step := float64(amax) / 127
				for i := b * bs; i < (b+1)*bs; i++ {
					// 1e-3 of a step for F16 rounding of d in Q8_0 (relative 2^-11, times 127).
					if d := math.Abs(float64(y[i] - x[i])); d > step*(0.5+0.07) {
						t.Fatalf("%s act=%v: value %d off by %v, step %v", typ, act, i, d, step)
					}
				}
			}
		}
	}
}

func mustRowBytes(t *testing.T, typ Type, n int) int {
	t.Helper()
	s, err := typ.RowBytes(n)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVecDotMatchesDequantised(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n = 256 * 12
	for _, typ := range []Type{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K} {
		t.Run(typ.String(), func(t *testing.T) {
			for trial := range 5 {
				w, a := randNormal(r, n), randNormal(r, n)
				if trial == 1 { // a skewed activation and zero blocks
					for i := range 300 {
						a[i] = 0
						w[i] = 0
					}
					a[1000] = 40
				}
				at := VecDotType(typ)
				wb := make([]byte, mustRowBytes(t, typ, n))
				ab := make([]byte, mustRowBytes(t, at, n))
				if err := Quantize(typ, w, wb); err != nil {
					t.Fatal(err)
				}
				if err := QuantizeActivations(at, a, ab); err != nil {
					t.Fatal(err)
				}
				wd, ad := make([]float32, n), make([]float32, n)
				if err := Dequantize(typ, wb, wd); err != nil {
					t.Fatal(err)
				}
				if err := Dequantize(at, ab, ad); err != nil {
					t.Fatal(err)
				}
				var want, mag float64
				for i := range n {
					p := float64(wd[i]) * float64(ad[i])
					want += p
					mag += math.Abs(p)
				}
				if at == Q8_1 {
					want += q8_1SumCorrection(typ, wb, ab)
				}
				got := VecDot(typ, n, wb, ab)
				if d := math.Abs(float64(got) - want); d > dotTol*mag {
					t.Errorf("trial %d: VecDot = %v, dequantised dot = %v (diff %g, scale %g)", trial, got, want, d, mag)
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	if err := Dequantize(Q4_0, make([]byte, 17), make([]float32, 32)); err == nil {
		t.Error("Dequantize with a short source: no error")
	}
	if err := Dequantize(Q4_0, make([]byte, 18), make([]float32, 31)); err == nil {
		t.Error("Dequantize of a partial block: no error")
	}
	if err := Dequantize(Q2_K, make([]byte, 84), make([]float32, 256)); err == nil {
		t.Error("Dequantize Q2_K: no error")
	}
	if err := Quantize(Q6_K, make([]float32, 256), make([]byte, 209)); err == nil {
		t.Error("Quantize into a short buffer: no error")
	}
	if err := Quantize(Type(123), make([]float32, 32), make([]byte, 100)); err == nil {
		t.Error("Quantize to an unknown type: no error")
	}
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	mustPanic("short activations", func() { VecDot(Q4_0, 64, make([]byte, 36), make([]byte, 34)) })
	mustPanic("partial block", func() { VecDot(Q8_0, 33, make([]byte, 68), make([]byte, 68)) })
	mustPanic("Q8_K weights", func() { VecDot(Q8_K, 256, make([]byte, 292), make([]byte, 292)) })
}

func TestAllZeroBlocks(t *testing.T) {
	x := make([]float32, 256)
	for _, typ := range allTypes() {
		buf := make([]byte, mustRowBytes(t, typ, 256))
		for i := range buf {
			buf[i] = 0xAA
		}
		if err := Quantize(typ, x, buf); err != nil {
			t.Fatal(err)
		}
		y := make([]float32, 256)
		if err := Dequantize(typ, buf, y); err != nil {
			t.Fatal(err)
		}
		for i, v := range y {
			if v != 0 {
				t.Fatalf("%s: zeros decode to %v at %d", typ, v, i)
			}
		}
	}
}

// q8_1SumCorrection is Σ_blocks m_w*(s_a - d_a*Σq_a): the Q8_1 dot uses the
// stored s (F16 of the unrounded d times Σq), not the dequantised values.
func q8_1SumCorrection(typ Type, wb, ab []byte) float64 {
	var c float64
	for b := 0; b < len(ab)/q8_1Bytes; b++ {
		y := ab[b*q8_1Bytes:]
		sum := 0
		for j := range 32 {
			sum += int(int8(y[4+j]))
		}
		m := float64(f16at(wb[b*typ.BlockBytes()+2:]))
		c += m * (float64(f16at(y[2:])) - float64(f16at(y))*float64(sum))
	}
	return c
}
