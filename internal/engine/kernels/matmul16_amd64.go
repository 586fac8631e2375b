//go:build !purego

package kernels

import "maas/internal/engine/quant"

// archMatMul16 returns the group of activation rows of the 16-row tile
// kernel for weights of type t (8 or 16), or 0 where the CPU or the type has
// none, and up to how many activation rows MatVec (whose decode kernel gives
// bit for bit the tile kernel's rows for these types) row by row is cheaper
// than a padded group (single-thread timings of 3072x3072 products: Q4_0
// m=1 164 us, m=8 474 us; Q4_K
// m=1 136 us, m=2..8 430-470 us; Q6_K m=1 183 us, m=2..16 760-900 us).
func archMatMul16(t quant.Type) (group, rowwiseMax int) {
	if !hasVNNI() {
		return 0, 0
	}
	switch t {
	case quant.Q4_0:
		return 8, 2
	case quant.Q8_0:
		return 8, 0
	case quant.Q4_K:
		return 8, 3
	case quant.Q5_K:
		if !hasQ5_KMatVec() { // the Q5_K tile kernel also uses GFNI
			return 0, 0
		}
		return 8, 3
	case quant.Q6_K:
		return 16, 4
	}
	return 0, 0
}

// runMatMul16 calls t's matMul16Func by name (not through a function value,
// so that callers' stack buffers stay on the stack).
func runMatMul16(t quant.Type, nb int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int) {
	switch t {
	case quant.Q4_0:
		matMulQ4_0x16(nb, w, rowBytes, rows, a, aStride, m, dst, ldd)
	case quant.Q8_0:
		matMulQ8_0x16(nb, w, rowBytes, rows, a, aStride, m, dst, ldd)
	case quant.Q4_K:
		matMulQ4_Kx16(nb, w, rowBytes, rows, a, aStride, m, dst, ldd)
	case quant.Q5_K:
		matMulQ5_Kx16(nb, w, rowBytes, rows, a, aStride, m, dst, ldd)
	case quant.Q6_K:
		matMulQ6_Kx16(nb, w, rowBytes, rows, a, aStride, m, dst, ldd)
	default:
		panic("kernels: no 16-row tile kernel for " + t.String())
	}
}
