//go:build !purego

package kernels

import "maas/internal/engine/quant"

// matMulF16x4 is MatMul for F16 weights and F16 activations in tiles of 4
// weight rows x 4 activation rows; it reports false where it does not apply.
func matMulF16x4(t quant.Type, n int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int) bool {
	if t != quant.F16 || !hasAVX512() || m < 4 || rows < 4 || n%16 != 0 || n == 0 {
		return false
	}
	blocks(t, n, w[(rows-1)*rowBytes:], a[(m-1)*aStride:])
	_ = dst[(m-1)*ldd+rows-1]
	dot, _ := VecDot(t)
	chunk := max(4, matMulChunkBytes/max(rowBytes, 1)&^3)
	for r0 := 0; r0 < rows; r0 += chunk {
		r1 := min(rows, r0+chunk)
		i := 0
		for ; i+4 <= m; i += 4 {
			r := r0
			for ; r+4 <= r1; r += 4 {
				gemmF16x4AVX512(n, &w[r*rowBytes], rowBytes, &a[i*aStride], aStride, &dst[i*ldd+r], 4*ldd)
			}
			for ; r < r1; r++ {
				for k := i; k < i+4; k++ {
					dst[k*ldd+r] = dot(n, w[r*rowBytes:], a[k*aStride:])
				}
			}
		}
		for ; i < m; i++ {
			for r := r0; r < r1; r++ {
				dst[i*ldd+r] = dot(n, w[r*rowBytes:], a[i*aStride:])
			}
		}
	}
	return true
}

// gemmF16x4AVX512 computes a 4x4 tile of F16 products with 512-bit FMAs,
// for n a multiple of 16:
//
//	for i := range 4 { for r := range 4 {
//		out[i*outStride/4+r] = Σ_k f16(w[r*wStride/2+k]) * f16(a[i*aStride/2+k]) // float32 sums, 16 lanes
//	}}
//
// (strides in bytes).
//
//go:noescape
func gemmF16x4AVX512(n int, w *byte, wStride int, a *byte, aStride int, out *float32, outStride int)
