//go:build !purego

package kernels

import "maas/internal/engine/quant"

// dot4Func computes out[i] = dot(w, a + i*aStride) for i < 4 over nb blocks.
type dot4Func func(nb int, w, a *byte, aStride int, out *float32)

func hasAVX512() bool {
	return hasAVX2() && cpu512()
}

func archDot4(t quant.Type) dot4Func {
	if !hasAVX512() {
		return nil
	}
	switch t {
	case quant.Q4_K:
		return dotQ4_Kx4AVX512
	case quant.Q5_K:
		return dotQ5_Kx4AVX512
	case quant.Q6_K:
		return dotQ6_Kx4AVX512
	}
	return nil
}

// dotQ4_Kx4AVX512 is dotQ4_KAVX2 for one weight row and 4 activation rows
// (aStride bytes apart), with per-row results in out[0:4]:
//
//	for i := range 4 { out[i] = dotQ4_K(nb, w, a[i*aStride:]) }
//
//go:noescape
func dotQ4_Kx4AVX512(nb int, w, a *byte, aStride int, out *float32)

// dotQ5_Kx4AVX512 is dotQ5_KAVX2 against 4 activation rows (see dotQ4_Kx4AVX512).
//
//go:noescape
func dotQ5_Kx4AVX512(nb int, w, a *byte, aStride int, out *float32)

// dotQ6_Kx4AVX512 is dotQ6_KAVX2 against 4 activation rows (see dotQ4_Kx4AVX512).
//
//go:noescape
func dotQ6_Kx4AVX512(nb int, w, a *byte, aStride int, out *float32)
