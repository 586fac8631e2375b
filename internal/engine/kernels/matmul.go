package kernels

import (
	"fmt"
	"sync"

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
	d4, d8 := archDot4(t), archDot8(t)
	group, rowwiseMax := archMatMul16(t)
	// padded activation groups (matMul16), one buffer per concurrent caller
	pads := &sync.Pool{New: func() any { return new(padBuf) }}
	dot, _ := VecDot(t)
	// base is the product without the 16-row tile kernels.
	base := func(n int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int) {
		if matMulQ0x4(t, n, w, rowBytes, rows, a, aStride, m, dst, ldd) ||
			matMulF16x4(t, n, w, rowBytes, rows, a, aStride, m, dst, ldd) {
			return
		}
		if d4 != nil && m >= 4 {
			matMulDot4(t, d4, d8, dot, n, w, rowBytes, rows, a, aStride, m, dst, ldd)
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
	}
	return func(n int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int) {
		if rows <= 0 || m <= 0 {
			return
		}
		// Two or more activation rows (prompt chunks, batched decoding) all
		// go through the tile kernel, the last group padded, so that a row's
		// result does not depend on the batch it is in.
		if group > 0 && m >= 2 && m <= rowwiseMax {
			// A few activation rows: the decode kernel (bit for bit the
			// tile kernel's rows) once per row over L2-sized chunks of
			// weight rows costs less than a padded tile.
			chunk := max(16, matMulChunkBytes/max(rowBytes, 1)) &^ 15
			for r0 := 0; r0 < rows; r0 += chunk {
				r1 := min(rows, r0+chunk)
				for i := range m {
					mv(n, w[r0*rowBytes:], rowBytes, a[i*aStride:], dst[i*ldd+r0:i*ldd+r1])
				}
			}
			return
		}
		if group > 0 && m >= 2 {
			nb := blocks(t, n, w[(rows-1)*rowBytes:], a[(m-1)*aStride:])
			rest := func(w []byte, rows int, a []byte, m int, dst []float32) {
				base(n, w, rowBytes, rows, a, aStride, m, dst, ldd)
			}
			if nb > 0 && matMul16(t, group, pads, rest, nb, w, rowBytes, rows, a, aStride, m, dst, ldd) {
				return
			}
		}
		base(n, w, rowBytes, rows, a, aStride, m, dst, ldd)
	}, nil
}

// matMulDot4 runs the one-row-by-8-activation-rows kernel d8 (if not nil),
// then the 4-row kernel d4, over L2-sized blocks of weight rows; leftover
// activation rows go through dot.
func matMulDot4(t quant.Type, d4, d8 dot4Func, dot DotFunc, n int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int) {
	nb := blocks(t, n, w[(rows-1)*rowBytes:], a[(m-1)*aStride:])
	_ = dst[(m-1)*ldd+rows-1]
	if nb == 0 {
		for i := range m {
			clear(dst[i*ldd : i*ldd+rows])
		}
		return
	}
	chunk := max(1, matMulChunkBytes/max(rowBytes, 1))
	var out [8]float32
	for r0 := 0; r0 < rows; r0 += chunk {
		r1 := min(rows, r0+chunk)
		i := 0
		for ; d8 != nil && i+8 <= m; i += 8 {
			for r := r0; r < r1; r++ {
				d8(nb, &w[r*rowBytes], &a[i*aStride], aStride, &out[0])
				for j, v := range out {
					dst[(i+j)*ldd+r] = v
				}
			}
		}
		for ; i+4 <= m; i += 4 {
			for r := r0; r < r1; r++ {
				d4(nb, &w[r*rowBytes], &a[i*aStride], aStride, &out[0])
				dst[i*ldd+r] = out[0]
				dst[(i+1)*ldd+r] = out[1]
				dst[(i+2)*ldd+r] = out[2]
				dst[(i+3)*ldd+r] = out[3]
			}
		}
		for ; i < m; i++ {
			for r := r0; r < r1; r++ {
				dst[i*ldd+r] = dot(n, w[r*rowBytes:], a[i*aStride:])
			}
		}
	}
}
