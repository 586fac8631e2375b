//go:build !purego && amd64

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"maas/internal/engine/quant"
)

// TestMatVecQ6_KTileIdentical: the Q6_K decode MatVec gives, bit for bit,
// what the 16x16 tile kernel gives for the same activation row (the row
// repeated to fill a group of 16, and through MatMul with 2 identical rows),
// and agrees with quant.VecDot within the package tolerance.
func TestMatVecQ6_KTileIdentical(t *testing.T) {
	if !hasVNNI() {
		t.Skip("no AVX-512 VNNI")
	}
	typ := quant.Q6_K
	mv := matVecQ6_K()
	mm, err := MatMul(typ)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(6, 17))
	for _, s := range []struct{ rows, n, wPad int }{
		{16, 256, 0}, {32, 512, 0}, {48, 3072, 0}, {64, 8192, 0}, {16, 8192, 3},
		{32, 3072, 210}, {64, 1024, 1}, {16, 2048, 0}, {48, 1792, 5}, {16, 256 * 15, 0},
		{32, 256 * 17, 0}, {16, 256 * 40, 2},
	} {
		rowBytes, _ := typ.RowBytes(s.n)
		stride := rowBytes + s.wPad
		w := make([]byte, (s.rows-1)*stride+rowBytes)
		for i := range s.rows {
			copy(w[i*stride:], randWeights(r, typ, s.n, i%3 == 1))
		}
		aRow, _ := quant.VecDotType(typ).RowBytes(s.n)
		a := randActivations(r, typ, s.n, 1)
		a16 := make([]byte, 16*aRow)
		for i := range 16 {
			copy(a16[i*aRow:], a)
		}
		got := make([]float32, s.rows)
		mv(s.n, w, stride, a, got)
		tile := make([]float32, 16*s.rows)
		runMatMul16(typ, s.n/256, w, stride, s.rows, a16, aRow, 16, tile, s.rows)
		two := make([]float32, 2*s.rows)
		mm(s.n, w, stride, s.rows, a16, aRow, 2, two, s.rows)
		if 16*aRow > padRowBytes {
			// MatMul pads no group of rows this long: m=2 is not tiled
			copy(two, tile[:s.rows])
			copy(two[s.rows:], tile[:s.rows])
		}
		for j := range s.rows {
			g := math.Float32bits(got[j])
			if g != math.Float32bits(tile[j]) || g != math.Float32bits(tile[15*s.rows+j]) ||
				g != math.Float32bits(two[j]) || g != math.Float32bits(two[s.rows+j]) {
				t.Fatalf("%+v: row %d: matvec %v, tile %v/%v, MatMul m=2 %v/%v",
					s, j, got[j], tile[j], tile[15*s.rows+j], two[j], two[s.rows+j])
			}
			wr := w[j*stride : j*stride+rowBytes]
			want := quant.VecDot(typ, s.n, wr, a)
			if d := math.Abs(float64(got[j] - want)); !(d <= dotTol*magnitude(typ, s.n, wr, a)+1e-30) {
				t.Fatalf("%+v: row %d = %v, want %v", s, j, got[j], want)
			}
		}
	}
}

// TestMatVecQ6_KExtremes: all 6-bit values 0 or 63 and scales -128 or 127
// against activations of -128/127 (largest integer sums), bit-identical to
// the tile kernel; any row count (rows not a multiple of 16 included); no
// allocations.
func TestMatVecQ6_KExtremes(t *testing.T) {
	if !hasVNNI() {
		t.Skip("no AVX-512 VNNI")
	}
	typ := quant.Q6_K
	mv := matVecQ6_K()
	r := rand.New(rand.NewPCG(7, 3))
	for _, s := range []struct{ rows, n int }{{16, 256}, {32, 3072}, {48, 8192}, {7, 768}, {21, 2304}} {
		rowBytes, _ := typ.RowBytes(s.n)
		nb := s.n / 256
		w := make([]byte, s.rows*rowBytes)
		for i := range w {
			w[i] = []byte{0, 0xff}[r.IntN(2)]
		}
		for row := range s.rows {
			for b := range nb {
				blk := w[row*rowBytes+b*210:]
				for g := range 16 {
					blk[192+g] = []byte{0x80, 0x7f}[r.IntN(2)]
				}
				d := quant.Float32ToFP16(float32(r.NormFloat64()))
				blk[208], blk[209] = byte(d), byte(d>>8)
			}
		}
		aRow, _ := quant.VecDotType(typ).RowBytes(s.n)
		x := make([]float32, s.n)
		for i := range x {
			x[i] = []float32{-1, 1}[r.IntN(2)] * float32(1+r.IntN(3))
		}
		a := make([]byte, aRow)
		if err := quant.QuantizeActivations(quant.VecDotType(typ), x, a); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, s.rows)
		mv(s.n, w, rowBytes, a, got)
		if allocs := testing.AllocsPerRun(3, func() { mv(s.n, w, rowBytes, a, got) }); allocs != 0 {
			t.Fatalf("%+v: %v allocations", s, allocs)
		}
		r16 := s.rows &^ 15
		if r16 > 0 {
			a16 := make([]byte, 16*aRow)
			for i := range 16 {
				copy(a16[i*aRow:], a)
			}
			tile := make([]float32, 16*r16)
			runMatMul16(typ, nb, w, rowBytes, r16, a16, aRow, 16, tile, r16)
			for j := range r16 {
				if math.Float32bits(got[j]) != math.Float32bits(tile[j]) {
					t.Fatalf("%+v: row %d: matvec %v, tile %v", s, j, got[j], tile[j])
				}
			}
		}
		for j := range s.rows {
			wr := w[j*rowBytes : (j+1)*rowBytes]
			want := quant.VecDot(typ, s.n, wr, a)
			if d := math.Abs(float64(got[j] - want)); !(d <= dotTol*magnitude(typ, s.n, wr, a)+1e-30) {
				t.Fatalf("%+v: row %d = %v, want %v", s, j, got[j], want)
			}
		}
	}
}
