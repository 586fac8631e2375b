package phi3

import (
	"maas/internal/engine/kernels"
	"maas/internal/engine/quant"
)

// This file adapts the weight formats to the matrix products: which weight
// types are supported, how a row is dequantised, what the activations are
// converted to before a product (ggml's vec_dot_type), and the dot products.

// wtype is a ggml tensor type id.
type wtype = quant.Type

// supported reports whether weights of type t can be multiplied.
func supported(t wtype) bool { return t.Supported() }

// rowBytes returns the bytes of n values of type t.
func rowBytes(t wtype, n int) (int, error) { return t.RowBytes(n) }

// dequantRow converts len(dst) values of type t from src to float32.
func dequantRow(t wtype, src []byte, dst []float32) error { return quant.Dequantize(t, src, dst) }

// kernel is how products with one weight type are computed, as llama.cpp's
// CPU backend does: activations are first converted to the type's vec-dot
// type (F16 for F16 weights, BF16 for BF16, F32 for F32, Q8_0/Q8_1/Q8_K for
// the quantised types), then the weight rows are multiplied with them
// (kernels.MatMul picks the blocking and the multi-row kernels).
type kernel struct {
	act      quant.Type           // activation type (quant.VecDotType)
	quantize kernels.QuantizeFunc // float32 activations -> act
	matmul   kernels.MatMulFunc   // weight rows x converted activation rows
}

func kernelFor(t wtype) (kernel, error) {
	k := kernel{act: quant.VecDotType(t)}
	var err error
	if k.matmul, err = kernels.MatMul(t); err != nil {
		return kernel{}, err
	}
	if k.quantize, err = kernels.Quantize(k.act); err != nil {
		return kernel{}, err
	}
	return k, nil
}

// actBytesPerValue bounds the bytes per activation value of any vec-dot
// type (F32: 4), for sizing the conversion buffer.
const actBytesPerValue = 4
