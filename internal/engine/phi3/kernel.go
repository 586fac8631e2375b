package phi3

import (
	"fmt"

	"maas/internal/engine/quant"
)

// This file adapts the weight formats to the matrix products: which weight
// types are supported, how a row is dequantised, what the activations are
// converted to before a product (ggml's vec_dot_type), and the dot products.

// wtype is a ggml tensor type id.
type wtype = quant.Type

// supported reports whether weights of type t can be multiplied.
func supported(t wtype) bool { return t.Supported() }

// floatWeight reports whether t is a float type: its rows are dequantised to
// float32 and multiplied with float32 activations rounded to t's precision.
func floatWeight(t wtype) bool { return t == quant.F32 || t == quant.F16 || t == quant.BF16 }

// rowBytes returns the bytes of n values of type t.
func rowBytes(t wtype, n int) (int, error) { return t.RowBytes(n) }

// dequantRow converts len(dst) values of type t from src to float32.
func dequantRow(t wtype, src []byte, dst []float32) error { return quant.Dequantize(t, src, dst) }

// roundActs rounds activations in place to the precision llama.cpp converts
// them to before a product with float weights of type t: F16 for F16
// weights, BF16 for BF16 weights, unchanged for F32.
func roundActs(t wtype, x []float32) {
	switch t {
	case quant.F16:
		for i, v := range x {
			x[i] = quant.FP16ToFloat32(quant.Float32ToFP16(v))
		}
	case quant.BF16:
		for i, v := range x {
			x[i] = quant.BF16ToFloat32(quant.Float32ToBF16(v))
		}
	}
}

// actRowBytes is the size of one row of cols activations converted for
// products with weights of type t.
func actRowBytes(t wtype, cols int) int {
	n, _ := quant.VecDotType(t).RowBytes(cols)
	return n
}

// quantActs converts n rows of cols activations to the vec-dot type of
// weight type t (as llama.cpp's CPU backend does), writing rows of
// actRowBytes(t, cols) bytes into dst.
func quantActs(t wtype, x []float32, cols, n int, dst []byte) error {
	at := quant.VecDotType(t)
	rb := actRowBytes(t, cols)
	for i := range n {
		if err := quant.QuantizeActivations(at, x[i*cols:(i+1)*cols], dst[i*rb:(i+1)*rb]); err != nil {
			return fmt.Errorf("convert activations for %s: %w", t, err)
		}
	}
	return nil
}

// vecDot returns the dot product of n weights of type t with n activations
// already converted by quantActs.
func vecDot(t wtype, n int, w, a []byte) float32 { return quant.VecDot(t, n, w, a) }

// dotF32 returns sum a[i]*b[i] over len(a), with 8 partial sums.
func dotF32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
		s4 += a[i+4] * b[i+4]
		s5 += a[i+5] * b[i+5]
		s6 += a[i+6] * b[i+6]
		s7 += a[i+7] * b[i+7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}
