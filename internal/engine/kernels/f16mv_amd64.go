//go:build !purego

package kernels

import "fmt"

// maxF16MatVec bounds the float32 copy of the activation row kept on the
// stack (Phi-3-medium's FFN width included).
const maxF16MatVec = 18432

// matVecF16 is MatVec for F16 weights with matVecF16Rows: the F16
// activation row is widened to float32 once (exactly), then the rows stream
// past it one by one; rows whose length is not a multiple of 64 go through
// the AVX2 dot.
func matVecF16(n int, w []byte, rowBytes int, a []byte, out []float32) {
	rows := len(out)
	if rows == 0 {
		return
	}
	if rowBytes < 2*n || len(a) < 2*n || len(w) < (rows-1)*rowBytes+2*n {
		panic(fmt.Sprintf("kernels: F16 matvec: %d rows of %d values (stride %d) need more than %d weight and %d activation bytes", rows, n, rowBytes, len(w), len(a)))
	}
	if n%64 != 0 || n > maxF16MatVec {
		for r := range out {
			out[r] = wrapF16(n, w[r*rowBytes:], a)
		}
		return
	}
	var af [maxF16MatVec]float32
	f16ToF32(n, &a[0], &af[0])
	// Groups of rows, each with a touch of one line per 4 KiB page
	// pageAhead bytes further on: on 4 KiB pages the page walks then
	// overlap the kernel.
	const group = 8
	for r := 0; r < rows; r += group {
		g := min(group, rows-r)
		if p := r*rowBytes + pageAhead; p < len(w) {
			prefetchPages(&w[p], min(g*rowBytes, len(w)-p))
		}
		matVecF16Rows(n, &w[r*rowBytes], rowBytes, g, &af[0], &out[r])
	}
}

// matVecF16Rows computes rows dots of F16 rows (stride bytes apart) with
// the float32 row a, n a multiple of 64 (> 0), rows > 0:
//
//	for r := range rows { out[r] = Σ_j f16(w_r[j]) * a[j] }
//
//go:noescape
func matVecF16Rows(n int, w *byte, stride int, rows int, a *float32, out *float32)

// f16ToF32 widens the first n&^15 F16 values at src to float32 at dst
// (exact: every F16 value is a float32 value):
//
//	for i := range n &^ 15 { dst[i] = f16(src[2i:]) }
//
//go:noescape
func f16ToF32(n int, src *byte, dst *float32)
