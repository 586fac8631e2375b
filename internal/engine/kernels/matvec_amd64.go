//go:build !purego

package kernels

import (
	"fmt"

	"maas/internal/engine/quant"
)

func archMatVecVariants() []MatVecVariant {
	return []MatVecVariant{
		{"avx512vnni-x8", quant.Q4_0, matVecQ4_0Rows8(matVecQ4_0x8VNNI), hasVNNI()},
		{"avx512vnni-x8t", quant.Q4_0, matVecQ4_0Rows8(matVecQ4_0x8T), hasVNNI()},
	}
}

// maxMatVecBlocks bounds the per-call activation tables kept on the stack
// (32768 values of Q4_0); longer rows go through the row-by-row path.
const maxMatVecBlocks = 1024

type q4_0x8Kernel func(nb int, w *byte, stride int, a *byte, asum *int32, ad *float32, out *float32)

// matVecQ4_0Rows8 runs an 8-row Q4_0 kernel over groups of 8 rows.
func matVecQ4_0Rows8(kern q4_0x8Kernel) MatVecFunc {
	return func(n int, w []byte, rowBytes int, a []byte, out []float32) {
		matVecQ4_0(kern, n, w, rowBytes, a, out)
	}
}

func matVecQ4_0(kern q4_0x8Kernel, n int, w []byte, rowBytes int, a []byte, out []float32) {
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
	for b := range nb {
		blk := a[b*34 : b*34+34]
		ad[b] = quant.FP16ToFloat32(uint16(blk[0]) | uint16(blk[1])<<8)
		s := int32(0)
		for _, q := range blk[2:] {
			s += int32(int8(q))
		}
		asum[b] = 8 * s
	}
	r := 0
	for ; r+8 <= rows; r += 8 {
		kern(nb, &w[r*rowBytes], rowBytes, &a[0], &asum[0], &ad[0], &out[r])
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
