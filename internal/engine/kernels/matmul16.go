package kernels

import (
	"sync"

	"maas/internal/engine/quant"
)

// matMul16Func is the signature of each type's tile driver (called by name
// from runMatMul16): it runs a tile kernel of 16 weight rows x 8 (or 16)
// activation rows over rows weight rows (a multiple of 16, rowBytes apart) and m
// activation rows (a multiple of the kernel's group, aStride apart):
// dst[i*ldd+r] = dot(w_r, a_i) for r < rows, i < m, as quant.VecDot computes
// it (same integer sums, float order may differ). nb is the number of quant
// blocks per row. The float result for one (row, activation row) pair must
// not depend on m or on the activation row's place in the group, so that a
// sequence's logits do not depend on what it is batched with.
type matMul16Func func(nb int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int)

const (
	// padRowBytes bounds the activation rows copied for a padded last
	// group (16 rows of 8192 values as Q8_K, 146 KiB, from pads).
	padRowBytes = 16 * 9344
	// padTile is the most weight rows per kernel call for a padded group (a
	// worker's whole chunk, mostly: the drivers' per-call setup is not free).
	padTile = 4096
)

// padBuf is the scratch of a padded group: its activation rows and results.
type padBuf struct {
	a   [padRowBytes]byte
	out [16 * padTile]float32
}

// matMul16 runs t's tile kernel over all activation rows and the weight rows up to the
// last multiple of 16, padding the last group of activation rows to group
// rows (copies of the last row, results dropped); rest computes the weight
// rows past the last multiple of 16. pads holds *padBuf buffers. It reports whether the kernel ran.
func matMul16(t quant.Type, group int, pads *sync.Pool, rest func(w []byte, rows int, a []byte, m int, dst []float32),
	nb int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int) bool {
	r16, mg := rows&^15, m-m%group
	aRow := min(aStride, len(a)-(m-1)*aStride) // bytes of the last activation row
	if group == 0 || r16 == 0 || (mg < m && group*aRow > padRowBytes) {
		return false
	}
	if mg > 0 {
		runMatMul16(t, nb, w, rowBytes, r16, a, aStride, mg, dst, ldd)
	}
	if mg < m {
		buf := pads.Get().(*padBuf)
		defer pads.Put(buf)
		pad, out := buf.a[:], buf.out[:]
		for i := range group {
			src := a[min(mg+i, m-1)*aStride:][:aRow]
			copy(pad[i*aRow:], src)
		}
		for r0 := 0; r0 < r16; r0 += padTile {
			nr := min(padTile, r16-r0)
			runMatMul16(t, nb, w[r0*rowBytes:], rowBytes, nr, pad[:group*aRow], aRow, group, out, padTile)
			for i := range m - mg {
				copy(dst[(mg+i)*ldd+r0:][:nr], out[i*padTile:][:nr])
			}
		}
	}
	if r16 < rows {
		// weight rows past the last tile of 16
		rest(w[r16*rowBytes:], rows-r16, a, m, dst[r16:])
	}
	return true
}
