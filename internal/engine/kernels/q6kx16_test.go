//go:build !purego && amd64

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"maas/internal/engine/quant"
)

// TestMatMul16Q6_K runs the Q6_K tile driver directly (no fallbacks in
// front of it) on random data and padded strides against quant.VecDot.
func TestMatMul16Q6_K(t *testing.T) {
	k := matMulQ6_Kx16
	if k == nil || !hasVNNI() {
		t.Skip("no Q6_K tile kernel on this CPU")
	}
	typ := quant.Q6_K
	r := rand.New(rand.NewPCG(16, 6))
	for _, s := range [][3]int{{16, 16, 256}, {16, 32, 256}, {32, 48, 512}, {48, 16, 3072}, {64, 16, 768},
		{16, 32, 2048}, {32, 80, 1024}, {16, 144, 256}, {16, 16, 256 * 40}, {32, 80, 256 * 9}} {
		rows, m, n := s[0], s[1], s[2]
		nb := n / 256
		rowBytes, _ := typ.RowBytes(n)
		stride := rowBytes + 7
		w := make([]byte, rows*stride)
		for i := range rows {
			copy(w[i*stride:], randWeights(r, typ, n, i%3 == 0))
		}
		aRow, _ := quant.VecDotType(typ).RowBytes(n)
		aStride := aRow + 5
		a := make([]byte, m*aStride)
		for i := range m {
			copy(a[i*aStride:], randActivations(r, typ, n, 1))
		}
		ldd := rows + 3
		dst := make([]float32, m*ldd)
		for i := range dst {
			dst[i] = float32(math.NaN())
		}
		k(nb, w, stride, rows, a, aStride, m, dst, ldd)
		for i := range m {
			for j := range rows {
				wr, ar := w[j*stride:j*stride+rowBytes], a[i*aStride:i*aStride+aRow]
				want := quant.VecDot(typ, n, wr, ar)
				got := dst[i*ldd+j]
				if d := math.Abs(float64(got - want)); !(d <= dotTol*magnitude(typ, n, wr, ar)+1e-30) {
					t.Fatalf("%dx%d n=%d: dst[%d][%d] = %v, want %v", rows, m, n, i, j, got, want)
				}
			}
			for j := rows; j < ldd && i < m-1; j++ {
				if v := dst[i*ldd+j]; v == v {
					t.Fatalf("%dx%d n=%d: padding dst[%d][%d] written", rows, m, n, i, j)
				}
			}
		}
	}
}

// BenchmarkMatMul16Q6_K: the tile driver alone on BenchmarkMatMul's shape.
func BenchmarkMatMul16Q6_K(b *testing.B) {
	k := matMulQ6_Kx16
	if k == nil || !hasVNNI() {
		b.Skip("no Q6_K tile kernel")
	}
	const rows, m = 256, 64
	typ := quant.Q6_K
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
	c0 := threadCPU()
	for b.Loop() {
		k(benchN/256, w, rowBytes, rows, a, aRow, m, dst, rows)
	}
	reportRate(b, float64(rows*m*benchN)*float64(b.N)/1e9, "GMAC/s", c0)
}
