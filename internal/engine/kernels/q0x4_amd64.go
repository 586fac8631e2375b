//go:build !purego

package kernels

import (
	"math"

	"maas/internal/engine/quant"
)

// maxQ0x4Blocks bounds the per-call activation tables on the stack (rows of
// up to 18432 values, Phi-3-medium's FFN width included).
const maxQ0x4Blocks = 576

// q0Tables fills, for the count activation rows a + i*aStride,
// per block b: da[b*count+i] = the row's F16 scale and k[b*count+i] =
// offset*da*Σa.
func q0Tables(nb, count int, a []byte, aStride int, offset float32, da, k []float32) {
	var sums [maxQ0x4Blocks]int32
	for i := range count {
		ar := a[i*aStride:]
		q8Sums(nb, &ar[0], &sums[0])
		for b := range nb {
			d := quant.FP16ToFloat32(uint16(ar[b*34]) | uint16(ar[b*34+1])<<8)
			da[b*count+i] = d
			k[b*count+i] = offset * d * float32(sums[b])
		}
	}
}

// matMulQ0x4 is MatMul for Q4_0/Q8_0 weights with the AVX-512 VNNI prompt
// kernels (Q4_0: 8 rows x 4 activations; Q8_0: 2 rows x 8 activations, then
// 1 row x 4); it reports false (doing nothing) where they do not apply.
func matMulQ0x4(t quant.Type, n int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int) bool {
	if !hasVNNI() || m < 4 || (t != quant.Q4_0 && t != quant.Q8_0) {
		return false
	}
	nb := blocks(t, n, w[(rows-1)*rowBytes:], a[(m-1)*aStride:])
	if nb == 0 || nb > maxQ0x4Blocks {
		return false
	}
	_ = dst[(m-1)*ldd+rows-1]
	dot, _ := VecDot(t)
	if t == quant.Q4_0 {
		matMulQ0T(nb, dot, n, w, rowBytes, rows, a, aStride, m, dst, ldd)
	} else {
		matMulQ8_0x4(nb, dot, n, w, rowBytes, rows, a, aStride, m, dst, ldd)
	}
	return true
}

// matMulQ8_0x4 is MatMul for Q8_0 with the 2-row x 8-activation and 1-row x
// 4-activation kernels (m >= 1; leftovers through dot).
func matMulQ8_0x4(nb int, dot DotFunc, n int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int) {
	kern, r2, offset := dotQ8_0x4VNNI, dotQ8_0r2x8VNNI, float32(128)
	// da: per block, 16 floats per activation pair (8 lanes per row);
	// k: per block, offset*da_i*Σa_i for the 4 rows.
	var da [maxQ0x4Blocks * 32]float32
	var sums [maxQ0x4Blocks]int32
	var k [maxQ0x4Blocks * 4]float32
	var out [16]float32
	var da8, k8 [maxQ0x4Blocks * 8]float32
	// Groups of 8 activation rows run over all weight rows, so the tables
	// are built once per group.
	i0 := 0
	for ; i0+8 <= m; i0 += 8 {
		q0Tables(nb, 8, a[i0*aStride:], aStride, offset, da8[:], k8[:])
		r := 0
		for ; r+2 <= rows; r += 2 {
			r2(nb, &w[r*rowBytes], rowBytes, &a[i0*aStride], aStride, &da8[0], &k8[0], &out[0])
			for i := range 8 {
				dst[(i0+i)*ldd+r] = out[i]
				dst[(i0+i)*ldd+r+1] = out[8+i]
			}
		}
		for ; r < rows; r++ {
			for i := i0; i < i0+8; i++ {
				dst[i*ldd+r] = dot(n, w[r*rowBytes:], a[i*aStride:])
			}
		}
	}
	for ; i0+4 <= m; i0 += 4 {
		for i := range 4 {
			ar := a[(i0+i)*aStride:]
			q8Sums(nb, &ar[0], &sums[0])
			for b := range nb {
				d := quant.FP16ToFloat32(uint16(ar[b*34]) | uint16(ar[b*34+1])<<8)
				lanes := da[b*32+(i/2)*16+(i%2)*8:][:8]
				for l := range lanes {
					lanes[l] = d
				}
				k[b*4+i] = offset * d * float32(sums[b])
			}
		}
		for r := range rows {
			kern(nb, &w[r*rowBytes], &a[i0*aStride], aStride, &da[0], &k[0], &out[0])
			dst[i0*ldd+r] = out[0]
			dst[(i0+1)*ldd+r] = out[1]
			dst[(i0+2)*ldd+r] = out[2]
			dst[(i0+3)*ldd+r] = out[3]
		}
	}
	for ; i0 < m; i0++ {
		for r := range rows {
			dst[i0*ldd+r] = dot(n, w[r*rowBytes:], a[i0*aStride:])
		}
	}
}

// dotQ8_0x4VNNI computes, for the 4 activation rows a + i*aStride,
//
//	out[i] = Σ_b f16(w[b].d) * (da_i[b]*Σ_j q[j]*a_i[b][j] - k[b][i]) // q = w+128 in [1, 255]
//
// which is quant's Q8_0 × Q8_0 dot when k[b][i] = 128*da_i[b]*Σ_j a_i[b][j]
// (da: per block, 16 floats per pair of rows, 8 lanes each).
//
//go:noescape
func dotQ8_0x4VNNI(nb int, w, a *byte, aStride int, da, k *float32, out *float32)

// dotQ8_0r2x8VNNI computes 2 Q8_0 weight rows (wStride bytes apart) times 8
// activation rows (aStride apart), with the tables of q0Tables (count 8,
// offset 128):
//
//	for j := range 2 { for i := range 8 {
//		out[j*8+i] = Σ_b f16(w_j[b].d) * (da[b*8+i]*Σ_l q_j[b][l]*a_i[b][l] - k[b*8+i]) // q = w+128
//	}}
//
//go:noescape
func dotQ8_0r2x8VNNI(nb int, w *byte, wStride int, a *byte, aStride int, da, k, out *float32)

// matMulQ0T is MatMul for Q4_0/Q8_0 in tiles of 8 weight rows x 4
// activation rows (matMulQ4_0x8x4T, called by name so that its table stays
// on the stack); leftover rows
// and activation rows go through dot.
func matMulQ0T(nb int, dot DotFunc, n int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int) {
	// tbl: per block, 4 int32 (offset*Σa_i) then 4 float32 (scale of a_i),
	// built once per group of 4 activation rows; the group then runs over
	// all weight rows (re-read from L2/L3 per group, cheap next to the
	// 1024 multiply-adds per 8 row-blocks).
	var tbl [maxQ0x4Blocks * 8]uint32
	var out [32]float32
	var sums [maxQ0x4Blocks]int32
	i0 := 0
	for ; i0+4 <= m; i0 += 4 {
		for i := range 4 {
			ar := a[(i0+i)*aStride:]
			q8Sums(nb, &ar[0], &sums[0])
			for b := range nb {
				tbl[b*8+i] = uint32(8 * sums[b])
				tbl[b*8+4+i] = math.Float32bits(quant.FP16ToFloat32(uint16(ar[b*34]) | uint16(ar[b*34+1])<<8))
			}
		}
		r := 0
		for ; r+8 <= rows; r += 8 {
			matMulQ4_0x8x4T(nb, &w[r*rowBytes], rowBytes, &a[i0*aStride], aStride, &tbl[0], &out[0])
			for i := range 4 {
				copy(dst[(i0+i)*ldd+r:(i0+i)*ldd+r+8], out[i*8:i*8+8])
			}
		}
		for ; r < rows; r++ {
			for i := i0; i < i0+4; i++ {
				dst[i*ldd+r] = dot(n, w[r*rowBytes:], a[i*aStride:])
			}
		}
	}
	for ; i0 < m; i0++ {
		for r := range rows {
			dst[i0*ldd+r] = dot(n, w[r*rowBytes:], a[i0*aStride:])
		}
	}
}

// matMulQ4_0x8x4T computes an 8x4 tile: 8 Q4_0 weight rows (stride bytes
// apart) times 4 Q8_0 activation rows (aStride apart), with tbl as filled by
// matMulQ0T:
//
//	for i := range 4 { for r := range 8 {
//		out[i*8+r] = Σ_b f16(w_r[b].d) * ad_i[b] * float32(Σ_j q_r[b][j]*a_i[b][j] - 8*Σ_j a_i[b][j])
//	}}
//
//go:noescape
func matMulQ4_0x8x4T(nb int, w *byte, stride int, a *byte, aStride int, tbl *uint32, out *float32)

// q16GroupBlocks bounds the activation tables of matMulQ4_0x16 and
// matMulQ8_0x16 on the stack (128 KiB: activation rows x blocks x 2 words).
const q16GroupBlocks = 2048

// matMulQ8_0x16 is the matMul16Func for Q8_0: the 16-row x 8-activation
// tile over rows (a multiple of 16) and m activation rows (a multiple of 8);
// nb <= q16GroupBlocks. Activation tables are built for as many groups of 8
// as fit, then every tile of 16 weight rows (in L1) passes over those groups
// (in L2).
func matMulQ8_0x16(nb int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int) {
	if rows == 0 || m == 0 {
		return
	}
	var tbl [q16GroupBlocks * 16]uint32
	var out [128]float32
	var sums [q16GroupBlocks]int32
	groups := max(1, q16GroupBlocks/nb)
	for g0 := 0; g0 < m; g0 += 8 * groups {
		g1 := min(m, g0+8*groups)
		for g := g0; g < g1; g += 8 {
			t := tbl[(g-g0)/8*nb*16:]
			for i := range 8 {
				ar := a[(g+i)*aStride:]
				q8Sums(nb, &ar[0], &sums[0])
				for b := range nb {
					t[b*16+i] = uint32(-128 * sums[b]) // unsigned weights q = w+128
					t[b*16+8+i] = math.Float32bits(quant.FP16ToFloat32(uint16(ar[b*34]) | uint16(ar[b*34+1])<<8))
				}
			}
		}
		for r := 0; r < rows; r += 16 {
			if r+16 < rows {
				prefetchL2(&w[(r+16)*rowBytes], 16*rowBytes) // the next tile, while this one computes
			}
			for g := g0; g < g1; g += 8 {
				matMulQ8_0x16x8(nb, &w[r*rowBytes], rowBytes, &a[g*aStride], aStride, &tbl[(g-g0)/8*nb*16], &out[0])
				for i := range 8 {
					copy(dst[(g+i)*ldd+r:(g+i)*ldd+r+16], out[i*16:i*16+16])
				}
			}
		}
	}
}

// matMulQ8_0x16x8 computes a 16x8 tile: 16 Q8_0 weight rows (stride bytes
// apart) times 8 Q8_0 activation rows (aStride apart); tbl holds per block
// 8 int32 (-128*Σa_i) then 8 float32 (the F16 scale of a_i):
//
//	for i := range 8 { for r := range 16 {
//		out[i*16+r] = Σ_b f16(w_r[b].d) * ad_i[b] * float32(Σ_j (w_r[b][j]+128)*a_i[b][j] - 128*Σ_j a_i[b][j])
//	}}
//
//go:noescape
func matMulQ8_0x16x8(nb int, w *byte, stride int, a *byte, aStride int, tbl *uint32, out *float32)

// matMulQ4_0x16 is the matMul16Func for Q4_0: groups of up to 64
// activation rows (as many as the table holds) pass, inside the kernel,
// over each block of a tile of 16 weight rows, so each tile is loaded and
// unpacked once per group rather than once per 8 rows.
func matMulQ4_0x16(nb int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int) {
	if rows == 0 || m == 0 {
		return
	}
	_ = w[(rows-1)*rowBytes+nb*18-1]
	_ = a[(m-1)*aStride+nb*34-1]
	_ = dst[(m-1)*ldd+rows-1]
	// tbl: per block, per activation row: -8*Σa (int32), scale (float32)
	var tbl [q16GroupBlocks * 16]uint32
	var out [64 * 16]float32
	var sums [q16GroupBlocks]int32
	group := min(64, len(tbl)/(2*nb)) &^ 7
	if group == 0 {
		panic("kernels: Q4_0 tile kernel: rows of more than 2048 blocks")
	}
	for g0 := 0; g0 < m; g0 += group {
		gm := min(group, m-g0)
		for i := range gm {
			ar := a[(g0+i)*aStride:]
			q8Sums(nb, &ar[0], &sums[0])
			for b := range nb {
				tbl[(b*gm+i)*2] = uint32(-8 * sums[b])
				tbl[(b*gm+i)*2+1] = math.Float32bits(quant.FP16ToFloat32(uint16(ar[b*34]) | uint16(ar[b*34+1])<<8))
			}
		}
		for r := 0; r < rows; r += 16 {
			if r+16 < rows {
				prefetchL2(&w[(r+16)*rowBytes], 16*rowBytes) // the next tile, while this one computes
			}
			clear(out[:gm*16])
			matMulQ4_0x16xM(nb, &w[r*rowBytes], rowBytes, &a[g0*aStride], aStride, gm, &tbl[0], &out[0])
			for i := range gm {
				copy(dst[(g0+i)*ldd+r:][:16], out[i*16:][:16])
			}
		}
	}
}

// matMulQ4_0x16xM computes 16 Q4_0 weight rows (stride bytes apart) times
// m Q8_0 activation rows (aStride apart, m even), adding into out; tbl holds
// per block and activation row -8*Σa_i (int32) and a_i's scale (float32):
//
//	for b := range nb { for i := range m { for r := range 16 {
//		out[i*16+r] += f16(w_r[b].d) * ad_i[b] * float32(Σ_j q_r[b][j]*a_i[b][j] - 8*Σ_j a_i[b][j])
//	}}}
//
// with the float operations of matVecQ4_0x16T (bit for bit its results).
//
//go:noescape
func matMulQ4_0x16xM(nb int, w *byte, stride int, a *byte, aStride int, m int, tbl *uint32, out *float32)
