//go:build !purego

package kernels

import (
	"encoding/binary"
	"fmt"
	"math"

	"maas/internal/engine/quant"
)

const (
	// q6mvMaxBlocks bounds the super-blocks per row of matVecQ6_K's stack
	// tables (65536 values); longer rows go through the row dot.
	q6mvMaxBlocks = 256
	// q6mvScratch is matVecQ6_KRows's scratch: per super-block 4 int32
	// partial sums, the F16 d and a float32 product.
	q6mvScratch = q6mvMaxBlocks * (16 + 2 + 4)
)

// matVecQ6_K is MatVec for Q6_K weights through matVecQ6_KRows, whose
// results are bit for bit those of the tile kernel matMulQ6_Kx16x16 and its
// driver's chunked sums (so a row decoded alone gets what it gets in a
// batch).
func matVecQ6_K() MatVecFunc {
	dot, _ := VecDot(quant.Q6_K)
	rest := rowsMatVec(dot)
	return func(n int, w []byte, rowBytes int, a []byte, out []float32) {
		matVecQ6_KAll(rest, n, w, rowBytes, a, out)
	}
}

// matVecQ6_KAll calls the kernel by name so that its tables stay on the
// stack.
func matVecQ6_KAll(rest MatVecFunc, n int, w []byte, rowBytes int, a []byte, out []float32) {
	rows := len(out)
	if rows == 0 {
		return
	}
	nb := blocks(quant.Q6_K, n, w[(rows-1)*rowBytes:], a)
	if rowBytes < nb*210 {
		panic(fmt.Sprintf("kernels: Q6_K matvec: row stride %d bytes < row of %d values", rowBytes, n))
	}
	if nb == 0 || nb > q6mvMaxBlocks {
		rest(n, w, rowBytes, a, out)
		return
	}
	var da [q6mvMaxBlocks]float32
	for b := range nb {
		da[b] = math.Float32frombits(binary.LittleEndian.Uint32(a[b*292:]))
	}
	var scr [q6mvScratch]byte
	// the tile driver's super-blocks per partial sum
	span := min(nb, q6x16ActBlocks/q6x16Groups)
	matVecQ6_KRows(nb, &w[0], rowBytes, rows, &a[0], &da[0], span, &scr[0], &out[0])
}

// matVecQ6_KRows computes rows Q6_K × Q8_K dots, rows rowBytes apart, with
// matMulQ6_Kx16x16's float operations and its driver's chunks of span
// super-blocks (da: the activation's F32 scales, padded to a multiple of 16;
// bsum: the Q8_K block's sums of 16 quants; scr: q6mvScratch bytes):
//
//	for r := range rows {
//		for b0 := 0; b0 < nb; b0 += span {
//			c := float32(0)
//			for b := b0; b < min(nb, b0+span); b++ {
//				I := Σ_g sc_r[b][g] * (Σ_(l in g) q_r[b][l]*a[b][l] - 32*bsum[b][g]) // q in [0, 63]
//				c += float32(I) * (d_r[b] * da[b])
//			}
//			if b0 == 0 { out[r] = c } else { out[r] += c }
//		}
//	}
//
//go:noescape
func matVecQ6_KRows(nb int, w *byte, rowBytes int, rows int, a *byte, da *float32, span int, scr *byte, out *float32)
