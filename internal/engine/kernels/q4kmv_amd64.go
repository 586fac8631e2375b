//go:build !purego

package kernels

import (
	"fmt"

	"maas/internal/engine/quant"
)

// matVecQ4_Kx16 is MatVec for Q4_K weights with the 16-row decode kernel
// matVecQ4_Kx16T: out[r] is bit for bit what the tile kernel
// (matMulQ4_Kx16) gives for row r and this activation row. Rows past the
// last multiple of 16 go through the fastest row dot (not bit-identical).
func matVecQ4_Kx16() MatVecFunc {
	dot, _ := VecDot(quant.Q4_K)
	return func(n int, w []byte, rowBytes int, a []byte, out []float32) {
		matVecQ4_KRows(dot, n, w, rowBytes, a, out)
	}
}

// matVecQ4_KRows calls the kernel by name, so that scr stays on the stack.
func matVecQ4_KRows(dot DotFunc, n int, w []byte, rowBytes int, a []byte, out []float32) {
	rows := len(out)
	if rows == 0 {
		return
	}
	nb := blocks(quant.Q4_K, n, w[(rows-1)*rowBytes:], a)
	if rowBytes < nb*144 {
		panic(fmt.Sprintf("kernels: Q4_K matvec: row stride %d bytes < row of %d values", rowBytes, n))
	}
	r := 0
	if nb > 0 {
		var scr [128]int32
		for ; r+16 <= rows; r += 16 {
			matVecQ4_Kx16T(nb, &w[r*rowBytes], rowBytes, &a[0], &scr[0], &out[r])
		}
	}
	for ; r < rows; r++ {
		out[r] = dot(n, w[r*rowBytes:], a)
	}
}

// matVecQ4_Kx16T computes 16 Q4_K × Q8_K dots, rows stride bytes apart,
// with matMulQ4_Kx16x8's per-lane float operations (scr: 128 int32 of
// scratch):
//
//	for r := range 16 {
//		acc := float32(0)
//		for b := range nb {
//			I := Σ_j sc_r[b][j] * Σ_l q_r[b][32j+l]*a[b][32j+l]
//			M := Σ_j m_r[b][j] * (bsum[b][2j] + bsum[b][2j+1])
//			acc += dy[b] * (d_r[b]*float32(I) - dmin_r[b]*float32(M))
//		}
//		out[r] = acc
//	}
//
//go:noescape
func matVecQ4_Kx16T(nb int, w *byte, stride int, a *byte, scr *int32, out *float32)
