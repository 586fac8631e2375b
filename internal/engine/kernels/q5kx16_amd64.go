//go:build !purego

package kernels

// q5kScratchBytes is matMulQ5_Kx16x8's scratch (2176 bytes, 64-byte
// aligned by the kernel).
const q5kScratchBytes = 2176 + 64

// matMulQ5_Kx16 is the matMul16Func for Q5_K weights (Q8_K activations):
// each tile of 16 weight rows (in L1/L2) passes over every group of 8
// activation rows.
func matMulQ5_Kx16(nb int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int) {
	if nb <= 0 || rows <= 0 || m <= 0 {
		return
	}
	if rows%16 != 0 || m%8 != 0 {
		panic("kernels: matMulQ5_Kx16: rows or m not a multiple of 16, 8")
	}
	// The kernel reads nb blocks of every row and writes dst through copy.
	_ = w[(rows-1)*rowBytes+nb*176-1]
	_ = a[(m-1)*aStride+nb*292-1]
	_ = dst[(m-1)*ldd+rows-1]
	var scr [q5kScratchBytes]byte
	var out [128]float32
	for r := 0; r < rows; r += 16 {
		if r+16 < rows {
			prefetchL2(&w[(r+16)*rowBytes], 16*rowBytes) // the next tile, while this one computes
		}
		for g := 0; g < m; g += 8 {
			matMulQ5_Kx16x8(nb, &w[r*rowBytes], rowBytes, &a[g*aStride], aStride, &scr[0], &out[0])
			for i := range 8 {
				copy(dst[(g+i)*ldd+r:(g+i)*ldd+r+16], out[i*16:i*16+16])
			}
		}
	}
}

// matMulQ5_Kx16x8 computes a 16x8 tile: 16 Q5_K weight rows (stride bytes
// apart) times 8 Q8_K activation rows (aStride apart), nb super-blocks
// each, into out[0:128] (scr: q5kScratchBytes of scratch):
//
//	for i := range 8 { for r := range 16 {
//		acc := float32(0)
//		for b := range nb {
//			I := Σ_j sc_r[b][j] * Σ_l q_r[b][32j+l]*a_i[b][32j+l] // q: 5 bits
//			M := Σ_j m_r[b][j] * (bsum_i[b][2j] + bsum_i[b][2j+1])
//			acc += dy_i[b] * (d_r[b]*float32(I) - dmin_r[b]*float32(M))
//		}
//		out[i*16+r] = acc
//	}}
//
//go:noescape
func matMulQ5_Kx16x8(nb int, w *byte, stride int, a *byte, aStride int, scr *byte, out *float32)
