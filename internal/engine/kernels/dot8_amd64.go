//go:build !purego

package kernels

import "maas/internal/engine/quant"

// archDot8 returns the one-weight-row × 8-activation-row kernel for weights
// of type t (out[0:8]), or nil where there is none.
func archDot8(t quant.Type) dot4Func {
	if !hasVNNI() {
		return nil
	}
	switch t {
	case quant.Q4_K:
		return dotQ4_Kx8VNNI
	case quant.Q5_K:
		return dotQ5_Kx8VNNI
	case quant.Q6_K:
		return dotQ6_Kx8VNNI
	}
	return nil
}

// dotQ4_Kx8VNNI is dotQ4_Kx4AVX512 for 8 activation rows (aStride bytes
// apart), with per-row results in out[0:8], equal bit for bit to it:
//
//	for i := range 8 { out[i] = dotQ4_K(nb, w, a[i*aStride:]) }
//
//go:noescape
func dotQ4_Kx8VNNI(nb int, w, a *byte, aStride int, out *float32)

// dotQ5_Kx8VNNI is dotQ5_Kx4AVX512 for 8 activation rows (see dotQ4_Kx8VNNI).
//
//go:noescape
func dotQ5_Kx8VNNI(nb int, w, a *byte, aStride int, out *float32)

// dotQ6_Kx8VNNI is dotQ6_Kx4AVX512 for 8 activation rows (see dotQ4_Kx8VNNI).
//
//go:noescape
func dotQ6_Kx8VNNI(nb int, w, a *byte, aStride int, out *float32)
