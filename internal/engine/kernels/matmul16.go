package kernels

// matMul16Func runs a tile kernel of 16 weight rows x 8 activation rows over
// rows weight rows (a multiple of 16, rowBytes apart) and m activation rows
// (a multiple of 8, aStride apart): dst[i*ldd+r] = dot(w_r, a_i) for r <
// rows, i < m, as quant.VecDot computes it (same integer sums, float order
// may differ). nb is the number of quant blocks per row.
type matMul16Func func(nb int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int)

// matMul16 runs k over the largest 16x8-aligned part of the product and
// rest over what is left; it reports whether k ran.
func matMul16(k matMul16Func, rest func(w []byte, rows int, a []byte, m int, dst []float32),
	nb int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int) bool {
	r16, m8 := rows&^15, m&^7
	if k == nil || r16 == 0 || m8 == 0 {
		return false
	}
	k(nb, w, rowBytes, r16, a, aStride, m8, dst, ldd)
	if m8 < m {
		// activation rows past the last group of 8: every weight row
		rest(w, rows, a[m8*aStride:], m-m8, dst[m8*ldd:])
	}
	if r16 < rows {
		// weight rows past the last tile of 16, for the first m8 activation rows
		rest(w[r16*rowBytes:], rows-r16, a, m8, dst[r16:])
	}
	return true
}
