package kernels

import (
	"fmt"

	"maas/internal/engine/quant"
)

// MatVecFunc computes out[r] = dot(w[r*rowBytes:][:row], a) for r <
// len(out): len(out) weight rows of n values each, rowBytes apart, against
// one activation row a (n values of quant.VecDotType of the weight type).
// Same panics as DotFunc.
type MatVecFunc func(n int, w []byte, rowBytes int, a []byte, out []float32)

// MatVecVariant is one implementation of a matrix-vector product.
type MatVecVariant struct {
	Name      string
	Type      quant.Type
	MatVec    MatVecFunc
	Available bool
}

// MatVec returns the fastest matrix-vector product for weights of type t.
// Its results equal those of VecDot(t) row by row, up to float32 rounding of
// the per-block scaling.
func MatVec(t quant.Type) (MatVecFunc, error) {
	var best MatVecFunc
	for _, v := range MatVecVariants() {
		if v.Type == t && v.Available {
			best = v.MatVec
		}
	}
	if best == nil {
		return nil, fmt.Errorf("kernels: no matrix-vector product for weight type %s", t)
	}
	return best, nil
}

// MatVecVariants lists every matrix-vector implementation compiled in: for
// each weight type, rows through the fastest available DotFunc ("rows"),
// then multi-row kernels.
func MatVecVariants() []MatVecVariant {
	var vs []MatVecVariant
	for _, t := range []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q4_0, quant.Q4_1, quant.Q5_0,
		quant.Q5_1, quant.Q8_0, quant.Q4_K, quant.Q5_K, quant.Q6_K} {
		dot, _ := VecDot(t)
		vs = append(vs, MatVecVariant{Name: "rows", Type: t, MatVec: rowsMatVec(dot), Available: true})
	}
	return append(vs, archMatVecVariants()...)
}

func rowsMatVec(dot DotFunc) MatVecFunc {
	return func(n int, w []byte, rowBytes int, a []byte, out []float32) {
		for r := range out {
			out[r] = dot(n, w[r*rowBytes:], a)
		}
	}
}
