//go:build !purego

package kernels

import (
	"golang.org/x/sys/cpu"

	"maas/internal/engine/quant"
)

// hasBF16 reports AVX-512 BF16 (VDPBF16PS) on top of AVX-512 F/VL/BW.
func hasBF16() bool { return hasAVX2() && cpu512() && cpu.X86.HasAVX512BF16 }

// wrapBF16 runs kern on the first n&^31 values and the reference on the rest.
func wrapBF16(kern func(n int, w, a *byte) float32) DotFunc {
	return func(n int, w, a []byte) float32 {
		blocks(quant.BF16, n, w, a)
		if n == 0 {
			return 0
		}
		m := n &^ 31
		var s float32
		if m > 0 {
			s = kern(m, &w[0], &a[0])
		}
		if m < n {
			s += quant.VecDot(quant.BF16, n-m, w[2*m:], a[2*m:])
		}
		return s
	}
}

// Assembly stubs (dotx_amd64.s). nb is the number of blocks (> 0); w and a
// point at nb weight blocks and nb activation blocks.

// dotQ4_1AVX2 is quant's Q4_1 × Q8_1 dot:
//
//	for i := range nb { // w blocks of 20 bytes: d, m f16, 16 bytes of nibbles; a: d, s f16, 32 x int8
//		sumi := 0
//		for j := range 16 {
//			sumi += int(w[i].qs[j]&15) * int(a[i].qs[j])
//			sumi += int(w[i].qs[j]>>4) * int(a[i].qs[j+16])
//		}
//		sumf += float32(sumi)*(f16(w[i].d)*f16(a[i].d)) + f16(w[i].m)*f16(a[i].s)
//	}
//
//go:noescape
func dotQ4_1AVX2(nb int, w, a *byte) float32

// dotQ5_0AVX2 is quant's Q5_0 × Q8_0 dot:
//
//	for i := range nb { // w blocks of 22 bytes: d f16, qh uint32, 16 bytes of nibbles
//		sumi := 0
//		for j := range 16 {
//			sumi += (int(w[i].qs[j]&15|(qh>>j&1)<<4) - 16) * int(a[i].qs[j])
//			sumi += (int(w[i].qs[j]>>4|(qh>>(j+16)&1)<<4) - 16) * int(a[i].qs[j+16])
//		}
//		sumf += float32(sumi) * (f16(w[i].d) * f16(a[i].d))
//	}
//
//go:noescape
func dotQ5_0AVX2(nb int, w, a *byte) float32

// dotQ5_1AVX2 is quant's Q5_1 × Q8_1 dot:
//
//	for i := range nb { // w blocks of 24 bytes: d, m f16, qh uint32, 16 bytes of nibbles
//		sumi := 0
//		for j := range 16 {
//			sumi += int(w[i].qs[j]&15|(qh>>j&1)<<4) * int(a[i].qs[j])
//			sumi += int(w[i].qs[j]>>4|(qh>>(j+16)&1)<<4) * int(a[i].qs[j+16])
//		}
//		sumf += float32(sumi)*(f16(w[i].d)*f16(a[i].d)) + f16(w[i].m)*f16(a[i].s)
//	}
//
//go:noescape
func dotQ5_1AVX2(nb int, w, a *byte) float32

// dotBF16AVX2 is, for n a multiple of 32:
//
//	for i := range n { s += bf16(w[i]) * bf16(a[i]) } // float32 sums, 32 lanes
//
//go:noescape
func dotBF16AVX2(n int, w, a *byte) float32

// dotBF16AVX512 is dotBF16AVX2 with VDPBF16PS (64 lanes, then 8): like
// every VDPBF16PS it treats subnormal bf16 inputs as zero and flushes
// subnormal sums to zero.
//
//go:noescape
func dotBF16AVX512(n int, w, a *byte) float32

// wrapPairs runs pairs (two blocks a step) on the even part of nb and one on
// a last odd block.
func wrapPairs(t quant.Type, pairs, one func(nb int, w, a *byte) float32) DotFunc {
	wb, ab := t.BlockBytes(), quant.VecDotType(t).BlockBytes()
	return func(n int, w, a []byte) float32 {
		nb := blocks(t, n, w, a)
		m := nb &^ 1
		var s float32
		if m > 0 {
			s = pairs(m, &w[0], &a[0])
		}
		if m < nb {
			s += one(1, &w[m*wb], &a[m*ab])
		}
		return s
	}
}

// dotQ4_1VNNI is dotQ4_1AVX2 with AVX-512 VNNI, for even nb.
//
//go:noescape
func dotQ4_1VNNI(nb int, w, a *byte) float32

// dotQ8_0VNNI is dotQ8_0AVX2 with AVX-512 VNNI, for even nb: one row of
// matVecQ8_0VNNI.
func dotQ8_0VNNI(nb int, w, a *byte) float32 {
	var s float32
	matVecQ8_0VNNI(nb/2, w, 0, 1, a, &s)
	return s
}

// dotQ5_0VNNI is dotQ5_0AVX2 with AVX-512 VNNI, for even nb.
//
//go:noescape
func dotQ5_0VNNI(nb int, w, a *byte) float32

// dotQ5_1VNNI is dotQ5_1AVX2 with AVX-512 VNNI, for even nb.
//
//go:noescape
func dotQ5_1VNNI(nb int, w, a *byte) float32
