//go:build !purego

package kernels

import (
	"fmt"
	"math"

	"maas/internal/engine/quant"
)

func archMatVecVariants() []MatVecVariant {
	return []MatVecVariant{
		{"avx512vnni-x8", quant.Q4_0, matVecQ4_0Rows8(false), hasVNNI()},
		{"avx512vnni-x8t", quant.Q4_0, matVecQ4_0Rows8(true), hasVNNI()},
		{"avx512vnni-x16t", quant.Q4_0, matVecQ0x16(quant.Q4_0), hasVNNI()},
		{"avx512-rows", quant.F16, matVecF16, hasAVX2() && cpu512()},
		{"avx512vnni-rows", quant.Q8_0, matVecQ8_0Rows, hasVNNI()},
		{"avx512vnni-x16t", quant.Q5_K, matVecQ5_K(), hasQ5_KMatVec()},
		{"avx512vnni-rows", quant.Q6_K, matVecQ6_K(), hasVNNI()},
		{"avx512vnni-x16t", quant.Q4_K, matVecQ4_Kx16(), hasVNNI()},
	}
}

// maxMatVecBlocks bounds the per-call activation tables kept on the stack
// (32768 values of Q4_0); longer rows go through the row-by-row path.
const maxMatVecBlocks = 1024

// matVecQ4_0Rows8 runs an 8-row Q4_0 kernel over groups of 8 rows.
// (transposed: matVecQ4_0x8T, else matVecQ4_0x8VNNI).
func matVecQ4_0Rows8(transposed bool) MatVecFunc {
	return func(n int, w []byte, rowBytes int, a []byte, out []float32) {
		matVecQ4_0(transposed, n, w, rowBytes, a, out)
	}
}

// matVecQ4_0 calls the kernels by name so that its tables stay on the stack.
func matVecQ4_0(transposed bool, n int, w []byte, rowBytes int, a []byte, out []float32) {
	rows := len(out)
	if rows == 0 {
		return
	}
	nb := blocks(quant.Q4_0, n, w[(rows-1)*rowBytes:], a)
	if rowBytes < nb*18 {
		panic(fmt.Sprintf("kernels: Q4_0 matvec: row stride %d bytes < row of %d values", rowBytes, n))
	}
	dot := wrap(quant.Q4_0, dotQ4_0AVX2)
	if nb == 0 || nb > maxMatVecBlocks {
		rowsMatVec(dot)(n, w, rowBytes, a, out)
		return
	}
	var asum [maxMatVecBlocks]int32
	var ad [maxMatVecBlocks]float32
	q8Sums(nb, &a[0], &asum[0])
	for b := range nb {
		ad[b] = quant.FP16ToFloat32(uint16(a[b*34]) | uint16(a[b*34+1])<<8)
		asum[b] *= 8
	}
	r := 0
	for ; r+8 <= rows; r += 8 {
		if transposed {
			matVecQ4_0x8T(nb, &w[r*rowBytes], rowBytes, &a[0], &asum[0], &ad[0], &out[r])
		} else {
			matVecQ4_0x8VNNI(nb, &w[r*rowBytes], rowBytes, &a[0], &asum[0], &ad[0], &out[r])
		}
	}
	for ; r < rows; r++ {
		out[r] = dot(n, w[r*rowBytes:], a)
	}
}

// matVecQ4_0x8VNNI computes 8 Q4_0 × Q8_0 dots, rows stride bytes apart,
// with AVX-512 VNNI (256-bit): for each block b and row r,
//
//	sumi := Σ_j q_r[j]*a[j] - asum[b]   // q in [0, 15]; asum[b] = 8*Σ_j a[j]
//	out[r] += float32(sumi) * (f16(w_r[b].d) * ad[b])
//
//go:noescape
func matVecQ4_0x8VNNI(nb int, w *byte, stride int, a *byte, asum *int32, ad *float32, out *float32)

// matVecQ4_0x8T computes the same as matVecQ4_0x8VNNI with the 8 rows'
// packed nibbles transposed into dword lanes (lane r = row r), so that
// VPDPBUSD with broadcast activation bytes needs no horizontal reduction:
//
//	for each block b, row r: sumi := Σ_j q_r[j]*a[j] - asum[b]; out[r] += float32(sumi) * f16(w_r[b].d) * ad[b]
//
//go:noescape
func matVecQ4_0x8T(nb int, w *byte, stride int, a *byte, asum *int32, ad *float32, out *float32)

// matVecQ0x16 is MatVec for Q4_0 (t) with the 16-row kernel
// matVecQ4_0x16T, bit for bit the tile kernel's rows; leftover rows go
// through the 8-row kernel. (For Q8_0 the row-by-row dot streams faster
// than a 16-row lane kernel, so Q8_0 has none.)
func matVecQ0x16(t quant.Type) MatVecFunc {
	rest := matVecQ4_0Rows8(true)
	return func(n int, w []byte, rowBytes int, a []byte, out []float32) {
		matVecQ0x16Rows(t, rest, n, w, rowBytes, a, out)
	}
}

// The kernels are called by name, not through a function value, so that tbl
// stays on the stack.
func matVecQ0x16Rows(t quant.Type, rest MatVecFunc, n int, w []byte, rowBytes int, a []byte, out []float32) {
	rows := len(out)
	if rows == 0 {
		return
	}
	nb := blocks(t, n, w[(rows-1)*rowBytes:], a)
	if bs, _ := t.RowBytes(n); rowBytes < bs {
		panic(fmt.Sprintf("kernels: %s matvec: row stride %d bytes < row of %d values", t, rowBytes, n))
	}
	if nb == 0 || nb > maxMatVecBlocks || rows < 16 {
		rest(n, w, rowBytes, a, out)
		return
	}
	// tbl: per block, -8*Σa (int32) then the F16 scale of a (float32).
	var tbl [2 * maxMatVecBlocks]uint32
	var sums [maxMatVecBlocks]int32
	q8Sums(nb, &a[0], &sums[0])
	for b := range nb {
		tbl[2*b] = uint32(-8 * sums[b])
		tbl[2*b+1] = math.Float32bits(quant.FP16ToFloat32(uint16(a[b*34]) | uint16(a[b*34+1])<<8))
	}
	r := 0
	for ; r+16 <= rows; r += 16 {
		if p := r*rowBytes + pageAhead; p < len(w) {
			prefetchPages(&w[p], min(16*rowBytes, len(w)-p))
		}
		matVecQ4_0x16T(nb, &w[r*rowBytes], rowBytes, &a[0], 0, &tbl[0], &out[r])
	}
	if r < rows {
		rest(n, w[r*rowBytes:], rowBytes, a, out[r:])
	}
}

// matVecQ4_0x16T computes 16 Q4_0 × Q8_0 dots, rows stride bytes apart,
// with the rows transposed into the dword lanes of 512-bit registers; tbl
// holds per block -8*Σa (int32) and the activation's scale (float32):
//
//	for each block b, row r: out[r] += f16(w_r[b].d) * ad[b] * float32(Σ_j q_r[b][j]*a[b][j] - 8*Σ_j a[b][j])
//
//go:noescape
func matVecQ4_0x16T(nb int, w *byte, stride int, a *byte, aStride int, tbl *uint32, out *float32)

// matVecQ8_0Rows is MatVec for Q8_0 with the rows looped in assembly
// (matVecQ8_0VNNI, no call per row); an odd last
// block goes through the AVX2 dot.
func matVecQ8_0Rows(n int, w []byte, rowBytes int, a []byte, out []float32) {
	rows := len(out)
	if rows == 0 {
		return
	}
	nb := n / 32
	if n%32 != 0 || rowBytes < 34*nb || len(a) < 34*nb || len(w) < (rows-1)*rowBytes+34*nb {
		panic(fmt.Sprintf("kernels: Q8_0 matvec: %d rows of %d values (stride %d) need more than %d weight and %d activation bytes", rows, n, rowBytes, len(w), len(a)))
	}
	if nb >= 2 {
		matVecQ8_0VNNI(nb/2, &w[0], rowBytes, rows, &a[0], &out[0])
	} else {
		clear(out)
	}
	if nb%2 == 1 {
		for r := range out {
			out[r] += dotQ8_0AVX2(1, &w[r*rowBytes+34*(nb-1)], &a[34*(nb-1)])
		}
	}
}

// matVecQ8_0VNNI computes rows dots of the first 2*pairs Q8_0 blocks of
// rows stride bytes apart with the Q8_0 activation blocks at a (pairs > 0,
// rows > 0), in the arithmetic of the pair kernels of dotx_amd64.s:
//
//	for r := range rows {
//		out[r] = Σ_b float32(Σ_j w_r[b].qs[j] * a[b].qs[j]) * (f16(w_r[b].d) * f16(a[b].d))
//	}
//
//go:noescape
func matVecQ8_0VNNI(pairs int, w *byte, stride int, rows int, a *byte, out *float32)
