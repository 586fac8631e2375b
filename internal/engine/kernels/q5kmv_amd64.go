//go:build !purego

package kernels

import (
	"fmt"

	"golang.org/x/sys/cpu"

	"maas/internal/engine/quant"
)

// hasQ5_KMatVec reports whether matVecQ5_Kx16T runs here (AVX-512 VNNI
// and GFNI).
func hasQ5_KMatVec() bool { return hasVNNI() && cpu.X86.HasAVX512GFNI }

// matVecQ5_K is MatVec for Q5_K weights: groups of 16 rows through
// matVecQ5_Kx16T, whose results are bit for bit those of the tile kernel
// matMulQ5_Kx16x8 (so a row decoded alone gets what it gets in a batch);
// leftover rows (< 16) go through rest, the row-by-row dot.
func matVecQ5_K() MatVecFunc {
	dot, _ := VecDot(quant.Q5_K)
	rest := rowsMatVec(dot)
	return func(n int, w []byte, rowBytes int, a []byte, out []float32) {
		matVecQ5_KRows(rest, n, w, rowBytes, a, out)
	}
}

// matVecQ5_KRows calls the kernel by name.
func matVecQ5_KRows(rest MatVecFunc, n int, w []byte, rowBytes int, a []byte, out []float32) {
	rows := len(out)
	if rows == 0 {
		return
	}
	nb := blocks(quant.Q5_K, n, w[(rows-1)*rowBytes:], a)
	if rowBytes < nb*176 {
		panic(fmt.Sprintf("kernels: Q5_K matvec: row stride %d bytes < row of %d values", rowBytes, n))
	}
	if nb == 0 || rows < 16 {
		rest(n, w, rowBytes, a, out)
		return
	}
	r := 0
	for ; r+16 <= rows; r += 16 {
		matVecQ5_Kx16T(nb, &w[r*rowBytes], rowBytes, &a[0], &out[r])
	}
	if r < rows {
		rest(n, w[r*rowBytes:], rowBytes, a, out[r:])
	}
}

// matVecQ5_Kx16T computes 16 Q5_K × Q8_K dots, rows stride bytes apart,
// with matMulQ5_Kx16x8's operations for one activation row:
//
//	for r := range 16 {
//		acc := float32(0)
//		for b := range nb {
//			I := Σ_j sc_r[b][j] * Σ_l q_r[b][32j+l]*a[b][32j+l] // q: 5 bits
//			M := Σ_j m_r[b][j] * (bsum[b][2j] + bsum[b][2j+1])
//			acc += dy[b] * (d_r[b]*float32(I) - dmin_r[b]*float32(M))
//		}
//		out[r] = acc
//	}
//
//go:noescape
func matVecQ5_Kx16T(nb int, w *byte, stride int, a *byte, out *float32)
