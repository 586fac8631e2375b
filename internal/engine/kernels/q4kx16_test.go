//go:build !purego && amd64

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"maas/internal/engine/quant"
)

// TestMatMulQ4_Kx16 runs the Q4_K 16x8 tile driver directly (no fallbacks)
// on padded strides and compares every entry with quant.VecDot.
func TestMatMulQ4_Kx16(t *testing.T) {
	if !hasVNNI() {
		t.Skip("no AVX-512 VNNI")
	}
	k := matMulQ4_Kx16
	if k == nil {
		t.Skip("no Q4_K 16x8 kernel")
	}
	typ := quant.Q4_K
	r := rand.New(rand.NewPCG(16, 4))
	for _, s := range []struct{ rows, m, n, wPad, aPad, dPad int }{
		{16, 8, 256, 0, 0, 0}, {32, 16, 512, 7, 3, 1}, {48, 24, 3072, 1, 5, 3},
		{64, 8, 1024, 144, 0, 2}, {16, 24, 2048, 3, 292, 0}, {64, 16, 256, 0, 1, 5},
	} {
		rowBytes, _ := typ.RowBytes(s.n)
		stride := rowBytes + s.wPad
		w := make([]byte, s.rows*stride)
		for i := range s.rows {
			copy(w[i*stride:], randWeights(r, typ, s.n, i%3 == 0))
		}
		aRow, _ := quant.VecDotType(typ).RowBytes(s.n)
		aStride := aRow + s.aPad
		a := make([]byte, s.m*aStride)
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
					if got == got {
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
