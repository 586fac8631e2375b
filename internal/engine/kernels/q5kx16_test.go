//go:build !purego && amd64

package kernels

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"maas/internal/engine/quant"
)

// TestMatMulQ5_Kx16 calls the Q5_K 16x8 tile driver itself (no fallbacks)
// on several shapes and padded strides, and checks every result against
// quant.VecDot and that dst's padding is left alone.
func TestMatMulQ5_Kx16(t *testing.T) {
	k := matMulQ5_Kx16
	if k == nil || !hasVNNI() {
		t.Skip("no Q5_K 16x8 kernel on this CPU")
	}
	typ := quant.Q5_K
	r := rand.New(rand.NewPCG(5, 16))
	for _, s := range []struct{ rows, m, n, wPad, aPad, dPad int }{
		{16, 8, 256, 0, 0, 0}, {32, 16, 512, 5, 3, 1}, {48, 24, 3072, 1, 7, 4},
		{64, 8, 1024, 176, 0, 2}, {16, 24, 2048, 3, 292, 0}, {64, 16, 256, 0, 1, 7},
		{32, 8, 768, 2, 2, 2},
	} {
		rowBytes, _ := typ.RowBytes(s.n)
		stride := rowBytes + s.wPad
		// the last row ends the slice: nothing past it may be needed
		w := make([]byte, (s.rows-1)*stride+rowBytes)
		for i := range s.rows {
			copy(w[i*stride:], randWeights(r, typ, s.n, i%2 == 1))
		}
		aRow, _ := quant.VecDotType(typ).RowBytes(s.n)
		aStride := aRow + s.aPad
		a := make([]byte, (s.m-1)*aStride+aRow)
		for i := range s.m {
			copy(a[i*aStride:], randActivations(r, typ, s.n, 1))
		}
		ldd := s.rows + s.dPad
		dst := make([]float32, s.m*ldd)
		for i := range dst {
			dst[i] = float32(math.NaN())
		}
		k(s.n/256, w, stride, s.rows, a, aStride, s.m, dst, ldd)
		for i := range s.m {
			for j := range ldd {
				got := dst[i*ldd+j]
				if j >= s.rows {
					if !math.IsNaN(float64(got)) {
						t.Fatalf("%+v: padding dst[%d][%d] written", s, i, j)
					}
					continue
				}
				wr, ar := w[j*stride:j*stride+rowBytes], a[i*aStride:i*aStride+aRow]
				want := quant.VecDot(typ, s.n, wr, ar)
				if d := math.Abs(float64(got - want)); !(d <= dotTol*magnitude(typ, s.n, wr, ar)+1e-30) {
					t.Fatalf("%+v: dst[%d][%d] = %v, want %v", s, i, j, got, want)
				}
			}
		}
	}
}

// TestMatMulQ5_Kx16Extremes: all 5-bit weights 31, scales and mins 63, and
// activations of +-127/-128, where the integer sums are largest.
func TestMatMulQ5_Kx16Extremes(t *testing.T) {
	k := matMulQ5_Kx16
	if k == nil || !hasVNNI() {
		t.Skip("no Q5_K 16x8 kernel on this CPU")
	}
	typ := quant.Q5_K
	const n, rows, m = 512, 16, 8
	rowBytes, _ := typ.RowBytes(n)
	w := make([]byte, rows*rowBytes)
	r := rand.New(rand.NewPCG(7, 7))
	copy(w, randWeights(r, typ, n*rows, true))
	for b := 0; b < len(w)/176; b++ {
		if b%3 == 0 {
			for i := 4; i < 176; i++ {
				w[b*176+i] = 0xff
			}
		}
	}
	aRow, _ := quant.VecDotType(typ).RowBytes(n)
	a := make([]byte, m*aRow)
	for i := range m {
		x := make([]float32, n)
		for j := range x {
			x[j] = float32(1 - 2*((i+j/7)&1))
		}
		if i == 3 {
			x[5] = -1.01 // quantises to -128 (the row's max magnitude is negative)
		}
		if err := quant.QuantizeActivations(quant.Q8_K, x, a[i*aRow:(i+1)*aRow]); err != nil {
			t.Fatal(err)
		}
	}
	dst := make([]float32, m*rows)
	k(n/256, w, rowBytes, rows, a, aRow, m, dst, rows)
	for i := range m {
		for j := range rows {
			wr, ar := w[j*rowBytes:(j+1)*rowBytes], a[i*aRow:(i+1)*aRow]
			want := quant.VecDot(typ, n, wr, ar)
			if d := math.Abs(float64(dst[i*rows+j] - want)); !(d <= dotTol*magnitude(typ, n, wr, ar)+1e-30) {
				t.Fatalf("dst[%d][%d] = %v, want %v", i, j, dst[i*rows+j], want)
			}
		}
	}
}

// BenchmarkMatMulQ5_Kx16 times the tile driver alone on BenchmarkMatMul's
// shape (256 rows x 64 activation rows x benchN).
func BenchmarkMatMulQ5_Kx16(b *testing.B) {
	k := matMulQ5_Kx16
	if k == nil || !hasVNNI() {
		b.Skip("no Q5_K 16x8 kernel on this CPU")
	}
	const rows, m = 256, 64
	typ := quant.Q5_K
	r := rand.New(rand.NewPCG(5, 6))
	rowBytes, _ := typ.RowBytes(benchN)
	w := make([]byte, rows*rowBytes)
	for i := range rows {
		copy(w[i*rowBytes:], randWeights(r, typ, benchN, false))
	}
	aRow, _ := quant.VecDotType(typ).RowBytes(benchN)
	a := make([]byte, m*aRow)
	for i := range m {
		copy(a[i*aRow:], randActivations(r, typ, benchN, 0))
	}
	dst := make([]float32, m*rows)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := threadCPU()
	for b.Loop() {
		k(benchN/256, w, rowBytes, rows, a, aRow, m, dst, rows)
	}
	reportRate(b, float64(rows*m*benchN)*float64(b.N)/1e9, "GMAC/s", c0)
}
