//go:build !purego && amd64

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"maas/internal/engine/quant"
)

// TestMatVecQ4_Kx16 checks the Q4_K decode MatVec bit for bit against the
// tile kernel (matMulQ4_Kx16 with the activation row repeated over a group
// of 8) and against quant.VecDot within dotTol.
func TestMatVecQ4_Kx16(t *testing.T) {
	if !hasVNNI() {
		t.Skip("no AVX-512 VNNI")
	}
	typ := quant.Q4_K
	mv := matVecQ4_Kx16()
	r := rand.New(rand.NewPCG(41, 7))
	for _, s := range []struct{ rows, n, wPad int }{
		{16, 256, 0}, {32, 8192, 0}, {48, 3072, 0}, {64, 512, 5}, {16, 3072, 144},
		{32, 1024, 1}, {64, 8192, 3}, {16, 2304, 0}, {40, 768, 0}, {17, 256, 2},
	} {
		for _, raw := range []bool{false, true} {
			rowBytes, _ := typ.RowBytes(s.n)
			stride := rowBytes + s.wPad
			w := make([]byte, s.rows*stride)
			for i := range s.rows {
				copy(w[i*stride:], randWeights(r, typ, s.n, raw))
			}
			a := randActivations(r, typ, s.n, 1)
			out := make([]float32, s.rows)
			for i := range out {
				out[i] = float32(math.NaN())
			}
			mv(s.n, w, stride, a, out)

			aRow := len(a)
			group := make([]byte, 8*aRow)
			for i := range 8 {
				copy(group[i*aRow:], a)
			}
			r16 := s.rows &^ 15
			tile := make([]float32, 8*r16)
			matMulQ4_Kx16(s.n/256, w, stride, r16, group, aRow, 8, tile, r16)
			for i := range s.rows {
				if i < r16 {
					for g := range 8 {
						if got, want := math.Float32bits(out[i]), math.Float32bits(tile[g*r16+i]); got != want {
							t.Fatalf("%+v raw=%v: row %d = %v, tile kernel (group row %d) %v", s, raw, i, out[i], g, tile[g*r16+i])
						}
					}
				}
				wr := w[i*stride : i*stride+rowBytes]
				want := quant.VecDot(typ, s.n, wr, a)
				if d := math.Abs(float64(out[i] - want)); !(d <= dotTol*magnitude(typ, s.n, wr, a)+1e-30) {
					t.Fatalf("%+v raw=%v: row %d = %v, reference %v", s, raw, i, out[i], want)
				}
			}
		}
	}
}

// TestMatVecQ4_KMatMul checks that MatVec(Q4_K) and MatMul(Q4_K) with two
// identical activation rows give the same bits, and that MatVec does not
// allocate.
func TestMatVecQ4_KMatMul(t *testing.T) {
	if !hasVNNI() {
		t.Skip("no AVX-512 VNNI")
	}
	typ := quant.Q4_K
	mv, err := MatVec(typ)
	if err != nil {
		t.Fatal(err)
	}
	mm, err := MatMul(typ)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(42, 8))
	for _, s := range []struct{ rows, n int }{{16, 256}, {64, 3072}, {32, 8192}, {48, 1024}} {
		rowBytes, _ := typ.RowBytes(s.n)
		w := make([]byte, s.rows*rowBytes)
		for i := range s.rows {
			copy(w[i*rowBytes:], randWeights(r, typ, s.n, i%2 == 0))
		}
		a := randActivations(r, typ, s.n, 1)
		out := make([]float32, s.rows)
		mv(s.n, w, rowBytes, a, out)
		a2 := append(append([]byte{}, a...), a...)
		dst := make([]float32, 2*s.rows)
		mm(s.n, w, rowBytes, s.rows, a2, len(a), 2, dst, s.rows)
		if allocs := testing.AllocsPerRun(5, func() { mv(s.n, w, rowBytes, a, out) }); allocs != 0 {
			t.Fatalf("%+v: MatVec allocates %v times per call", s, allocs)
		}
		for i := range s.rows {
			for g := range 2 {
				if math.Float32bits(out[i]) != math.Float32bits(dst[g*s.rows+i]) {
					t.Fatalf("%+v: row %d = %v, MatMul row %d %v", s, i, out[i], g, dst[g*s.rows+i])
				}
			}
		}
	}
}
