//go:build !purego

package kernels

import "maas/internal/engine/quant"

// archMatMul16 returns the 16-row x 8-activation tile kernel for weights of
// type t, or nil where the CPU or the type has none.
func archMatMul16(t quant.Type) matMul16Func {
	if !hasVNNI() {
		return nil
	}
	switch t {
	case quant.Q4_K:
		return matMul16Q4_K()
	case quant.Q5_K:
		return matMul16Q5_K()
	case quant.Q6_K:
		return matMul16Q6_K()
	}
	return nil
}
