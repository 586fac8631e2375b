//go:build !purego

package kernels

import "maas/internal/engine/quant"

// archMatMul16 returns the group of activation rows of the 16-row tile
// kernel for weights of type t (8 or 16), or 0 where the CPU or the type has
// none.
func archMatMul16(t quant.Type) int {
	if !hasVNNI() {
		return 0
	}
	switch t {
	case quant.Q4_0, quant.Q8_0, quant.Q4_K:
		return 8
	case quant.Q5_K:
		if !hasQ5_KMatVec() { // the Q5_K tile kernel also uses GFNI
			return 0
		}
		return 8
	case quant.Q6_K:
		return 16
	}
	return 0
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
