//go:build purego || !amd64

package kernels

import "maas/internal/engine/quant"

func archVariants() []Variant           { return nil }
func archQuantVariants() []QuantVariant { return nil }
func haveFMA() bool                     { return false }

func dotF32(n int, x, y *float32) float32     { panic("kernels: no assembly") }
func axpyF32(n int, a float32, x, y *float32) { panic("kernels: no assembly") }

func archMatVecVariants() []MatVecVariant { return nil }

type dot4Func func(nb int, w, a *byte, aStride int, out *float32)

func archDot4(quant.Type) dot4Func { return nil }

func archDot8(quant.Type) dot4Func { return nil }

func matMulQ0x4(quant.Type, int, []byte, int, int, []byte, int, int, []float32, int) bool {
	return false
}

func matMulF16x4(quant.Type, int, []byte, int, int, []byte, int, int, []float32, int) bool {
	return false
}

func archMatMul16(quant.Type) (group, rowwiseMax int) { return 0, 0 }

func runMatMul16(quant.Type, int, []byte, int, int, []byte, int, int, []float32, int) {
	panic("kernels: no assembly")
}
