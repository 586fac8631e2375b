package kernels

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"maas/internal/engine/quant"
)

// dotTol bounds |variant - reference| relative to the magnitude of the terms
// (Σ|w_i a_i| plus the K-quant min terms): both compute the same exact
// integer sums and differ only in float32 rounding of per-block scaling.
const dotTol = 1e-5

// scaleFields lists the byte offsets of F16 scale fields in a weight block;
// fuzzed blocks get finite scales there and random bytes elsewhere.
func scaleFields(t quant.Type) []int {
	switch t {
	case quant.Q4_0, quant.Q5_0, quant.Q8_0:
		return []int{0}
	case quant.Q4_1, quant.Q5_1, quant.Q4_K, quant.Q5_K:
		return []int{0, 2}
	case quant.Q6_K:
		return []int{208}
	}
	return nil
}

// randWeights returns n random weights of type t: either quantised normal
// data or random bits with finite scales.
func randWeights(r *rand.Rand, t quant.Type, n int, rawBits bool) []byte {
	size, _ := t.RowBytes(n)
	w := make([]byte, size)
	if !rawBits || t == quant.F32 || t == quant.F16 || t == quant.BF16 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		if err := quant.Quantize(t, x, w); err != nil {
			panic(err)
		}
		return w
	}
	for i := range w {
		w[i] = byte(r.Uint32())
	}
	bb := t.BlockBytes()
	for b := 0; b < len(w)/bb; b++ {
		for _, off := range scaleFields(t) {
			binary.LittleEndian.PutUint16(w[b*bb+off:], quant.Float32ToFP16(float32(r.NormFloat64()*0.01)))
		}
	}
	return w
}

func randActivations(r *rand.Rand, t quant.Type, n int, spread float64) []byte {
	at := quant.VecDotType(t)
	size, _ := at.RowBytes(n)
	a := make([]byte, size)
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * math.Exp(spread*r.NormFloat64()))
	}
	if err := quant.QuantizeActivations(at, x, a); err != nil {
		panic(err)
	}
	return a
}

// magnitude returns Σ|w_i a_i| of the dequantised operands plus, for Q4_K and
// Q5_K, Σ_blocks |dmin*dy| * 63 * Σ|q_a|.
func magnitude(t quant.Type, n int, w, a []byte) float64 {
	wd, ad := make([]float32, n), make([]float32, n)
	if err := quant.Dequantize(t, w, wd); err != nil {
		panic(err)
	}
	if err := quant.Dequantize(quant.VecDotType(t), a, ad); err != nil {
		panic(err)
	}
	var m float64
	for i := range n {
		m += math.Abs(float64(wd[i]) * float64(ad[i]))
	}
	if t == quant.Q4_K || t == quant.Q5_K {
		for b := 0; b < n/256; b++ {
			dmin := quant.FP16ToFloat32(binary.LittleEndian.Uint16(w[b*t.BlockBytes()+2:]))
			for i := b * 256; i < (b+1)*256; i++ {
				m += math.Abs(float64(dmin) * 63 * float64(ad[i]))
			}
		}
	}
	return m
}

func checkVariant(t *testing.T, v Variant, r *rand.Rand, n int, raw bool, spread float64) {
	t.Helper()
	w := randWeights(r, v.Type, n, raw)
	a := randActivations(r, v.Type, n, spread)
	want := quant.VecDot(v.Type, n, w, a)
	got := v.Dot(n, w, a)
	if got == want || math.IsInf(float64(want), 0) || want != want {
		return // equal, or an F16 overflow in the activations: no defined result
	}
	if d := math.Abs(float64(got) - float64(want)); !(d <= dotTol*magnitude(v.Type, n, w, a)+1e-30) {
		t.Fatalf("%s/%s n=%d raw=%v: got %v, reference %v", v.Type, v.Name, n, raw, got, want)
	}
}

func TestVariantsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	ran := 0
	for _, v := range Variants() {
		if !v.Available {
			t.Logf("%s/%s: not supported by this CPU, skipped", v.Type, v.Name)
			continue
		}
		ran++
		bs := v.Type.BlockSize()
		if bs == 1 {
			bs = 32
		}
		for _, nb := range []int{0, 1, 2, 3, 5, 12} {
			for _, raw := range []bool{false, true} {
				checkVariant(t, v, r, nb*bs, raw, 1)
			}
		}
		if v.Type == quant.F16 || v.Type == quant.F32 || v.Type == quant.BF16 {
			for _, n := range []int{1, 7, 31, 33, 95, 100} {
				checkVariant(t, v, r, n, false, 0)
			}
		}
	}
	if ran == 0 {
		t.Fatal("no variant ran")
	}
}

func TestVecDotPicksAVariant(t *testing.T) {
	for _, typ := range []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q4_0, quant.Q4_1, quant.Q5_0,
		quant.Q5_1, quant.Q8_0, quant.Q4_K, quant.Q5_K, quant.Q6_K} {
		f, err := VecDot(typ)
		if err != nil || f == nil {
			t.Errorf("VecDot(%s) = %v", typ, err)
		}
	}
	if _, err := VecDot(quant.Q8_K); err == nil {
		t.Error("VecDot(Q8_K): no error")
	}
	if _, err := Quantize(quant.Q4_K); err == nil {
		t.Error("Quantize(Q4_K): no error")
	}
}

func TestDotPanicsOnShortInput(t *testing.T) {
	for _, v := range Variants() {
		if !v.Available {
			continue
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s/%s: no panic on short weights", v.Type, v.Name)
				}
			}()
			n := 256
			a := randActivations(rand.New(rand.NewPCG(2, 2)), v.Type, n, 0)
			v.Dot(n, make([]byte, 10), a)
		}()
	}
}

func TestQuantVariantsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, v := range QuantVariants() {
		if !v.Available {
			continue
		}
		for _, n := range []int{256, 512, 3072} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(r.NormFloat64() * math.Exp(r.NormFloat64()))
			}
			x[5] = 0
			size, _ := v.Type.RowBytes(n)
			got, want := make([]byte, size), make([]byte, size)
			v.Quantize(x, got)
			if err := quant.QuantizeActivations(v.Type, x, want); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s/%s n=%d: byte %d = %#x, reference %#x", v.Type, v.Name, n, i, got[i], want[i])
				}
			}
		}
	}
}

func TestF32Helpers(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{0, 1, 31, 32, 33, 64, 100, 1000, 3072} {
		x, y := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], y[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
		var want, mag float64
		for i := range x {
			want += float64(x[i]) * float64(y[i])
			mag += math.Abs(float64(x[i]) * float64(y[i]))
		}
		if got := Dot(x, y); math.Abs(float64(got)-want) > 1e-6*mag+1e-30 {
			t.Errorf("Dot n=%d = %v, want %v", n, got, want)
		}
		y2 := append([]float32(nil), y...)
		Axpy(0.75, x, y2)
		for i := range y2 {
			if w := y[i] + 0.75*x[i]; math.Abs(float64(y2[i]-w)) > 1e-6*(math.Abs(float64(y[i]))+math.Abs(float64(x[i]))) {
				t.Fatalf("Axpy n=%d: y[%d] = %v, want %v", n, i, y2[i], w)
			}
		}
	}
}

// FuzzVecDot checks every available variant against the reference on random
// weight bits (finite scales) and activations from the quantiser.
func FuzzVecDot(f *testing.F) {
	f.Add(uint64(1), uint8(0), uint8(1), uint8(0))
	f.Add(uint64(2), uint8(7), uint8(3), uint8(2))
	f.Add(uint64(3), uint8(9), uint8(8), uint8(5))
	f.Add(uint64(4), uint8(10), uint8(2), uint8(1))
	f.Fuzz(func(t *testing.T, seed uint64, which, nblocks, spread uint8) {
		var avail []Variant
		for _, v := range Variants() {
			if v.Available {
				avail = append(avail, v)
			}
		}
		v := avail[int(which)%len(avail)]
		r := rand.New(rand.NewPCG(seed, uint64(which)))
		bs := v.Type.BlockSize()
		if bs == 1 {
			bs = 32
		}
		checkVariant(t, v, r, bs*int(nblocks%16), seed%2 == 0, float64(spread%4)/2)
	})
}

func checkQuantVariant(t *testing.T, v QuantVariant, x []float32) {
	t.Helper()
	size, _ := v.Type.RowBytes(len(x))
	got, want := make([]byte, size), make([]byte, size)
	v.Quantize(x, got)
	if err := quant.QuantizeActivations(v.Type, x, want); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s/%s n=%d: byte %d = %#x, reference %#x", v.Type, v.Name, len(x), i, got[i], want[i])
		}
	}
}

func TestQuantizeEdgeCases(t *testing.T) {
	for _, v := range QuantVariants() {
		if !v.Available {
			continue
		}
		x := make([]float32, 512)
		checkQuantVariant(t, v, x) // all zero
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		x[3], x[200] = 5, -5   // magnitude tie, positive first
		x[300], x[400] = -6, 6 // negative first
		checkQuantVariant(t, v, x)
		x[10] = 1e-30 // tiny values
		x[11] = -2.5
		checkQuantVariant(t, v, x)
	}
}

// FuzzQuantize checks every available activation quantiser byte for byte
// against quant.QuantizeActivations.
func FuzzQuantize(f *testing.F) {
	f.Add(uint64(1), uint8(0), uint8(1), uint8(3))
	f.Add(uint64(2), uint8(1), uint8(4), uint8(0))
	f.Fuzz(func(t *testing.T, seed uint64, which, nblocks, spread uint8) {
		var avail []QuantVariant
		for _, v := range QuantVariants() {
			if v.Available {
				avail = append(avail, v)
			}
		}
		v := avail[int(which)%len(avail)]
		r := rand.New(rand.NewPCG(seed, 3))
		n := v.Type.BlockSize() * (1 + int(nblocks%8))
		if n%256 != 0 && v.Type != quant.Q8_0 && v.Type != quant.Q8_1 {
			n = 256 * (1 + int(nblocks%4))
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * math.Exp(float64(spread%6)*r.NormFloat64()))
			if seed%3 == 0 {
				x[i] = float32(math.Round(float64(x[i] * 4))) // many ties and exact halves
			}
		}
		checkQuantVariant(t, v, x)
	})
}
