//go:build !purego

package kernels

import (
	"golang.org/x/sys/cpu"

	"maas/internal/engine/quant"
)

func hasAVX2() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C }

func cpu512() bool { return cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512BW }

func hasVNNI() bool { return hasAVX2() && cpu512() && cpu.X86.HasAVX512VNNI }

func haveFMA() bool { return hasAVX2() }

func archVariants() []Variant {
	a := hasAVX2()
	return []Variant{
		{"avx2", quant.F32, wrapF32, a},
		{"avx2", quant.F16, wrapF16, a},
		{"avx2", quant.Q4_0, wrap(quant.Q4_0, dotQ4_0AVX2), a},
		{"avx2", quant.Q8_0, wrap(quant.Q8_0, dotQ8_0AVX2), a},
		{"avx2", quant.Q4_K, wrap(quant.Q4_K, dotQ4_KAVX2), a},
		{"avx2", quant.Q5_K, wrap(quant.Q5_K, dotQ5_KAVX2), a},
		{"avx2", quant.Q6_K, wrap(quant.Q6_K, dotQ6_KAVX2), a},
		{"avx2", quant.Q4_1, wrap(quant.Q4_1, dotQ4_1AVX2), a},
		{"avx2", quant.Q5_0, wrap(quant.Q5_0, dotQ5_0AVX2), a},
		{"avx2", quant.Q5_1, wrap(quant.Q5_1, dotQ5_1AVX2), a},
		{"avx2", quant.BF16, wrapBF16(dotBF16AVX2), a},
		{"avx512bf16", quant.BF16, wrapBF16(dotBF16AVX512), hasBF16()},
		{"avx512vnni", quant.Q8_0, wrapPairs(quant.Q8_0, dotQ8_0VNNI, dotQ8_0AVX2), hasVNNI()},
		{"avx512vnni", quant.Q4_1, wrapPairs(quant.Q4_1, dotQ4_1VNNI, dotQ4_1AVX2), hasVNNI() && cpu.X86.HasAVX512VBMI},
		{"avx512vnni", quant.Q5_0, wrapPairs(quant.Q5_0, dotQ5_0VNNI, dotQ5_0AVX2), hasVNNI() && cpu.X86.HasAVX512VBMI},
		{"avx512vnni", quant.Q5_1, wrapPairs(quant.Q5_1, dotQ5_1VNNI, dotQ5_1AVX2), hasVNNI() && cpu.X86.HasAVX512VBMI},
	}
}

func wrap(t quant.Type, f func(nb int, w, a *byte) float32) DotFunc {
	return func(n int, w, a []byte) float32 {
		nb := blocks(t, n, w, a)
		if nb == 0 {
			return 0
		}
		return f(nb, &w[0], &a[0])
	}
}

func wrapF32(n int, w, a []byte) float32 {
	blocks(quant.F32, n, w, a)
	if n == 0 {
		return 0
	}
	m := n &^ 31
	var s float32
	if m > 0 {
		s = dotF32Bytes(m, &w[0], &a[0])
	}
	if m < n {
		s += quant.VecDot(quant.F32, n-m, w[4*m:], a[4*m:])
	}
	return s
}

func wrapF16(n int, w, a []byte) float32 {
	blocks(quant.F16, n, w, a)
	if n == 0 {
		return 0
	}
	m := n &^ 31
	var s float32
	if m > 0 {
		s = dotF16AVX2(m, &w[0], &a[0])
	}
	if m < n {
		s += quant.VecDot(quant.F16, n-m, w[2*m:], a[2*m:])
	}
	return s
}

// Assembly stubs (dot_amd64.s). nb is the number of blocks (> 0); w and a
// point at nb weight blocks and nb activation blocks.

// dotQ8_0AVX2 is quant's Q8_0 × Q8_0 dot:
//
//	for i := range nb { // blocks of 34 bytes: d f16, 32 x int8
//		sumi := 0
//		for j := range 32 { sumi += int(int8(w[i].qs[j])) * int(int8(a[i].qs[j])) }
//		sumf += float32(sumi) * (f16(w[i].d) * f16(a[i].d))
//	}
//
//go:noescape
func dotQ8_0AVX2(nb int, w, a *byte) float32

// dotQ4_0AVX2 is quant's Q4_0 × Q8_0 dot:
//
//	for i := range nb { // w blocks of 18 bytes: d f16, 16 bytes of nibbles
//		sumi := 0
//		for j := range 16 {
//			sumi += (int(w[i].qs[j]&15) - 8) * int(a[i].qs[j])
//			sumi += (int(w[i].qs[j]>>4) - 8) * int(a[i].qs[j+16])
//		}
//		sumf += float32(sumi) * (f16(w[i].d) * f16(a[i].d))
//	}
//
//go:noescape
func dotQ4_0AVX2(nb int, w, a *byte) float32

// dotQ4_KAVX2 is quant's Q4_K × Q8_K dot:
//
//	for i := range nb {
//		sumi, mins := 0, 0
//		for j := range 8 { // sub-blocks of 32; sc, m from the 12 packed bytes
//			mins += m[j] * (a[i].bsums[2j] + a[i].bsums[2j+1])
//			sumi += sc[j] * Σ_l q[32j+l] * a[i].qs[32j+l] // q in [0, 15]
//		}
//		sumf += f16(w[i].d)*a[i].d*float32(sumi) - f16(w[i].dmin)*a[i].d*float32(mins)
//	}
//
//go:noescape
func dotQ4_KAVX2(nb int, w, a *byte) float32

// dotQ5_KAVX2 is dotQ4_KAVX2 with 5-bit q: bit 4 of value 32j+l is bit j of qh[l].
//
//go:noescape
func dotQ5_KAVX2(nb int, w, a *byte) float32

// dotQ6_KAVX2 is quant's Q6_K × Q8_K dot:
//
//	for i := range nb {
//		sumi := 0
//		for g := range 16 { // groups of 16; q in [0, 63] from ql/qh
//			sumi += int(sc[g]) * Σ_k (q[16g+k] - 32) * a[i].qs[16g+k]
//		}
//		sumf += f16(w[i].d) * a[i].d * float32(sumi)
//	}
//
// computed as Σ sc*Σ q*a - 32*Σ sc[g]*a[i].bsums[g].
//
//go:noescape
func dotQ6_KAVX2(nb int, w, a *byte) float32

// dotF16AVX2 is, for n a multiple of 32:
//
//	for i := range n { s += f16(w[i]) * f16(a[i]) } // float32 sums, 32 lanes
//
//go:noescape
func dotF16AVX2(n int, w, a *byte) float32

// dotF32Bytes is dotF32 on little-endian float32 bytes.
//
//go:noescape
func dotF32Bytes(n int, x, y *byte) float32

// dotF32 is, for n a multiple of 32:
//
//	for i := range n { s += x[i] * y[i] } // float32 sums, 32 lanes
//
//go:noescape
func dotF32(n int, x, y *float32) float32

// axpyF32 is, for n a multiple of 32:
//
//	for i := range n { y[i] += a * x[i] } // one FMA per element
//
//go:noescape
func axpyF32(n int, a float32, x, y *float32)

// readSum is, for n a multiple of 256 (> 0), the wrapping sum of the n/8
// little-endian uint64 words at p; it exists to measure read bandwidth.
//
//go:noescape
func readSum(n int, p *byte) uint64
