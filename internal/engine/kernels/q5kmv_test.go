//go:build !purego && amd64

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"maas/internal/engine/quant"
)

// TestMatVecQ5_KTileIdentical: the Q5_K decode MatVec gives, bit for bit,
// what the 16x8 tile kernel gives for the same activation row (the row
// repeated to fill a group of 8, and through MatMul with 2 identical rows),
// and agrees with quant.VecDot within the package tolerance.
func TestMatVecQ5_KTileIdentical(t *testing.T) {
	if !hasQ5_KMatVec() {
		t.Skip("no AVX-512 VNNI and GFNI")
	}
	typ := quant.Q5_K
	mv := matVecQ5_K()
	mm, err := MatMul(typ)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 17))
	for _, s := range []struct{ rows, n, wPad int }{
		{16, 256, 0}, {32, 512, 0}, {48, 3072, 0}, {64, 8192, 0}, {16, 8192, 3},
		{32, 3072, 176}, {64, 1024, 1}, {16, 2048, 0}, {48, 768, 5},
	} {
		rowBytes, _ := typ.RowBytes(s.n)
		stride := rowBytes + s.wPad
		w := make([]byte, (s.rows-1)*stride+rowBytes)
		for i := range s.rows {
			copy(w[i*stride:], randWeights(r, typ, s.n, i%3 == 1))
		}
		aRow, _ := quant.VecDotType(typ).RowBytes(s.n)
		a := randActivations(r, typ, s.n, 1)
		a8 := make([]byte, 8*aRow)
		for i := range 8 {
			copy(a8[i*aRow:], a)
		}
		got := make([]float32, s.rows)
		mv(s.n, w, stride, a, got)
		tile := make([]float32, 8*s.rows)
		runMatMul16(typ, s.n/256, w, stride, s.rows, a8, aRow, 8, tile, s.rows)
		two := make([]float32, 2*s.rows)
		mm(s.n, w, stride, s.rows, a8, aRow, 2, two, s.rows)
		for j := range s.rows {
			g := math.Float32bits(got[j])
			if g != math.Float32bits(tile[j]) || g != math.Float32bits(tile[7*s.rows+j]) ||
				g != math.Float32bits(two[j]) || g != math.Float32bits(two[s.rows+j]) {
				t.Fatalf("%+v: row %d: matvec %v, tile %v/%v, MatMul m=2 %v/%v",
					s, j, got[j], tile[j], tile[7*s.rows+j], two[j], two[s.rows+j])
			}
			wr := w[j*stride : j*stride+rowBytes]
			want := quant.VecDot(typ, s.n, wr, a)
			if d := math.Abs(float64(got[j] - want)); !(d <= dotTol*magnitude(typ, s.n, wr, a)+1e-30) {
				t.Fatalf("%+v: row %d = %v, want %v", s, j, got[j], want)
			}
		}
	}
}

// TestMatVecQ5_KLeftover: rows not a multiple of 16 (the last ones by the
// row dot), all against quant.VecDot; the MatVec does not allocate.
func TestMatVecQ5_KLeftover(t *testing.T) {
	if !hasQ5_KMatVec() {
		t.Skip("no AVX-512 VNNI and GFNI")
	}
	typ := quant.Q5_K
	mv := matVecQ5_K()
	r := rand.New(rand.NewPCG(6, 17))
	for _, rows := range []int{1, 15, 17, 31, 40} {
		const n = 512
		rowBytes, _ := typ.RowBytes(n)
		w := make([]byte, rows*rowBytes)
		for i := range rows {
			copy(w[i*rowBytes:], randWeights(r, typ, n, i%2 == 0))
		}
		a := randActivations(r, typ, n, 1)
		out := make([]float32, rows)
		mv(n, w, rowBytes, a, out)
		for j := range rows {
			wr := w[j*rowBytes : (j+1)*rowBytes]
			want := quant.VecDot(typ, n, wr, a)
			if d := math.Abs(float64(out[j] - want)); !(d <= dotTol*magnitude(typ, n, wr, a)+1e-30) {
				t.Fatalf("rows=%d: row %d = %v, want %v", rows, j, out[j], want)
			}
		}
		if allocs := testing.AllocsPerRun(5, func() { mv(n, w, rowBytes, a, out) }); allocs != 0 {
			t.Fatalf("rows=%d: %v allocations per call", rows, allocs)
		}
	}
}

// TestMatVecQ5_KExtremes: all 5-bit weights 31, scales and mins 63 in some
// super-blocks, activations +-127/-128: bit-identical to the tile kernel.
func TestMatVecQ5_KExtremes(t *testing.T) {
	if !hasQ5_KMatVec() {
		t.Skip("no AVX-512 VNNI and GFNI")
	}
	typ := quant.Q5_K
	const n, rows = 1024, 32
	rowBytes, _ := typ.RowBytes(n)
	r := rand.New(rand.NewPCG(7, 8))
	w := randWeights(r, typ, n*rows, true)
	for b := 0; b < len(w)/176; b++ {
		if b%3 == 0 {
			for i := 4; i < 176; i++ {
				w[b*176+i] = 0xff
			}
		}
	}
	aRow, _ := quant.VecDotType(typ).RowBytes(n)
	x := make([]float32, n)
	for j := range x {
		x[j] = float32(1 - 2*((j/7)&1))
	}
	x[5] = -1.01 // quantises to -128
	a := make([]byte, aRow)
	if err := quant.QuantizeActivations(quant.Q8_K, x, a); err != nil {
		t.Fatal(err)
	}
	a8 := make([]byte, 8*aRow)
	for i := range 8 {
		copy(a8[i*aRow:], a)
	}
	got := make([]float32, rows)
	matVecQ5_K()(n, w, rowBytes, a, got)
	tile := make([]float32, 8*rows)
	runMatMul16(typ, n/256, w, rowBytes, rows, a8, aRow, 8, tile, rows)
	for j := range rows {
		if math.Float32bits(got[j]) != math.Float32bits(tile[j]) {
			t.Fatalf("row %d: matvec %v, tile %v", j, got[j], tile[j])
		}
		wr := w[j*rowBytes : (j+1)*rowBytes]
		want := quant.VecDot(typ, n, wr, a)
		if d := math.Abs(float64(got[j] - want)); !(d <= dotTol*magnitude(typ, n, wr, a)+1e-30) {
			t.Fatalf("row %d = %v, want %v", j, got[j], want)
		}
	}
}
