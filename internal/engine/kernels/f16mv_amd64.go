//go:build !purego

package kernels

import (
	"fmt"

	"maas/internal/engine/quant"
)

// maxF16MatVec bounds the float32 copy of the activation row kept on the
// stack (Phi-3-medium's FFN width included).
const maxF16MatVec = 18432

// matVecF16 is MatVec for F16 weights with matVecF16x4: the F16 activation
// row is widened to float32 once (exactly), then 4 rows at a time stream
// past it; leftover rows and rows whose length is not a multiple of 32 go
// through dot.
func matVecF16(n int, w []byte, rowBytes int, a []byte, out []float32) {
	rows := len(out)
	if rows == 0 {
		return
	}
	if rowBytes < 2*n || len(a) < 2*n || len(w) < (rows-1)*rowBytes+2*n {
		panic(fmt.Sprintf("kernels: F16 matvec: %d rows of %d values (stride %d) need more than %d weight and %d activation bytes", rows, n, rowBytes, len(w), len(a)))
	}
	dot, _ := VecDot(quant.F16)
	if n%32 != 0 || n > maxF16MatVec || rows < 4 {
		rowsMatVec(dot)(n, w, rowBytes, a, out)
		return
	}
	var af [maxF16MatVec]float32
	for i := range n {
		af[i] = quant.FP16ToFloat32(uint16(a[2*i]) | uint16(a[2*i+1])<<8)
	}
	r := 0
	for ; r+4 <= rows; r += 4 {
		if p := r*rowBytes + pageAhead; p < len(w) {
			prefetchPages(&w[p], min(4*rowBytes, len(w)-p))
		}
		matVecF16x4(n, &w[r*rowBytes], rowBytes, &af[0], &out[r])
	}
	for ; r < rows; r++ {
		out[r] = dot(n, w[r*rowBytes:], a)
	}
}

// matVecF16x4 computes 4 dots of F16 rows (stride bytes apart) with the
// float32 row a, n a multiple of 32:
//
//	for r := range 4 { out[r] = Σ_j f16(w_r[j]) * a[j] }
//
//go:noescape
func matVecF16x4(n int, w *byte, stride int, a *float32, out *float32)
