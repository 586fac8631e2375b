package kernels

import (
	"fmt"

	"maas/internal/engine/quant"
)

// MatMulFunc computes dst[i*ldd+r] = dot(w[r*rowBytes:], a[i*aStride:]) for
// r < rows and i < m: rows weight rows of n values (rowBytes apart) times m
// activation rows (n values of quant.VecDotType, aStride bytes apart). It is
// the whole inner loop of a matrix product over a range of weight rows; the
// kernels choose the blocking. Same panics as DotFunc.
type MatMulFunc func(n int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int)

// matMulChunkBytes is the weight bytes kept hot in L2 while all activation
// rows pass over them.
const matMulChunkBytes = 192 << 10

// MatMul returns the fastest matrix product for weights of type t.
func MatMul(t quant.Type) (MatMulFunc, error) {
	mv, err := MatVec(t)
	if err != nil {
		return nil, fmt.Errorf("kernels: no matrix product for weight type %s", t)
	}
	return func(n int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int) {
		if rows <= 0 || m <= 0 {
			return
		}
		chunk := rows
		if m > 1 {
			chunk = max(8, matMulChunkBytes/max(rowBytes, 1)) &^ 7
		}
		for r0 := 0; r0 < rows; r0 += chunk {
			r1 := min(rows, r0+chunk)
			for i := range m {
				mv(n, w[r0*rowBytes:], rowBytes, a[i*aStride:], dst[i*ldd+r0:i*ldd+r1])
			}
		}
	}, nil
}
