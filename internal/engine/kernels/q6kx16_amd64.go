//go:build !purego

package kernels

import (
	"encoding/binary"
	"math"
	"unsafe"
)

const (
	// q6x16ActBlocks bounds the transposed activations on the stack:
	// super-blocks x groups of 16 rows, 4 KiB each (120 KiB).
	q6x16ActBlocks = 30
	// q6x16Groups is the most groups of 16 activation rows one kernel call
	// runs against each unpacked weight super-block.
	q6x16Groups = 4
	// q6x16Scratch is the kernel's scratch (unpacked rows, scales, offsets,
	// row scales), 64 bytes of slack for alignment included.
	q6x16Scratch = 5312 + 64
)

// matMulQ6_Kx16 is a matMul16Func for Q6_K weights (Q8_K activations).
// Activation rows are taken 16 at a time, transposed into lanes for as many
// groups and super-blocks as the stack table holds; every tile of 16 weight
// rows then runs over them, partial sums over super-block chunks added into
// dst.
func matMulQ6_Kx16(nb int, w []byte, rowBytes, rows int, a []byte, aStride, m int, dst []float32, ldd int) {
	const wb, ab = 210, 292 // Q6_K and Q8_K block bytes
	_ = w[(rows-1)*rowBytes+nb*wb-1]
	_ = a[(m-1)*aStride+nb*ab-1]
	_ = dst[(m-1)*ldd+rows-1]
	if m%16 != 0 {
		panic("kernels: Q6_K tile kernel needs activation rows in groups of 16")
	}
	m16 := m
	var actBuf [q6x16ActBlocks*4096 + 64]byte
	var da [q6x16ActBlocks * 16]float32
	var scr [q6x16Scratch]byte
	var out [q6x16Groups * 256]float32
	off := int(-uintptr(unsafe.Pointer(&actBuf[0])) & 63)
	act := actBuf[off : off+q6x16ActBlocks*4096]

	groups := m16 / 16
	gmax := min(groups, q6x16Groups)
	// super-blocks per chunk: fixed, so that the float sums of a row do not
	// depend on m
	span := min(nb, q6x16ActBlocks/q6x16Groups)
	for g0 := 0; g0 < groups; g0 += gmax {
		gc := min(gmax, groups-g0)
		for b0 := 0; b0 < nb; b0 += span {
			bc := min(span, nb-b0)
			// act[(b*gc+k)*4096:], da[(b*gc+k)*16:]: block b0+b of group g0+k
			for k := range gc {
				ar := a[(g0+k)*16*aStride+b0*ab:]
				q6kActT(bc, &ar[0], aStride, &act[k*4096], gc*4096)
				for i := range 16 {
					row := ar[i*aStride:]
					for b := range bc {
						da[(b*gc+k)*16+i] = math.Float32frombits(binary.LittleEndian.Uint32(row[b*ab:]))
					}
				}
			}
			for r := 0; r < rows; r += 16 {
				if r+16 < rows { // the next tile's chunk, while this one computes
					for i := range 16 {
						prefetchL2(&w[(r+16+i)*rowBytes+b0*wb], bc*wb)
					}
				}
				matMulQ6_Kx16x16(bc, &w[r*rowBytes+b0*wb], rowBytes, &act[0], &da[0], gc, &scr[0], &out[0])
				for k := range gc {
					o := out[k*256 : k*256+256]
					for i := range 16 {
						d := dst[((g0+k)*16+i)*ldd+r:][:16]
						if b0 == 0 {
							for j := range d {
								d[j] = o[j*16+i]
							}
						} else {
							for j := range d {
								d[j] += o[j*16+i]
							}
						}
					}
				}
			}
		}
	}
}

// q6kActT transposes 16 Q8_K activation rows (aStride bytes apart) over nb
// super-blocks into lanes, made unsigned:
//
//	for b := range nb { for p := range 64 { for i := range 16 {
//		dst[b*dstStride+p*64+4*i+j] = a_i[b].qs[4*p+j] ^ 0x80 // j < 4
//	}}}
//
//go:noescape
func q6kActT(nb int, a *byte, aStride int, dst *byte, dstStride int)

// matMulQ6_Kx16x16 multiplies 16 Q6_K weight rows (rowBytes apart) by groups
// groups of 16 activation rows transposed by q6kActT (act: per super-block
// b, group k at (b*groups+k)*4096; da: their F32 scales at (b*groups+k)*16):
//
//	for k := range groups { for r := range 16 { for i := range 16 {
//		out[k*256+r*16+i] = Σ_b d_r[b]*da[b*groups+k][i] * float32(Σ_g sc_r[b][g]*Σ_(l in g) (q_r[b][l]-32)*a_(16k+i)[b][l])
//	}}}
//
// scr is scratch of q6x16Scratch bytes.
//
//go:noescape
func matMulQ6_Kx16x16(nb int, w *byte, rowBytes int, act *byte, da *float32, groups int, scr *byte, out *float32)
