package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Dequantize converts len(dst) values of type t from src to float32.
// len(dst) must be a multiple of t.BlockSize() and src must hold at least
// t.RowBytes(len(dst)) bytes; extra bytes are ignored. Q2_K and Q3_K are
// refused.
func Dequantize(t Type, src []byte, dst []float32) error {
	need, err := checkRow(t, len(dst), len(src))
	if err != nil {
		return fmt.Errorf("dequantize %s: %w", t, err)
	}
	src = src[:need]
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = FP16ToFloat32(le16(src[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = BF16ToFloat32(le16(src[2*i:]))
		}
	case Q4_0:
		dequantQ4_0(src, dst)
	case Q4_1:
		dequantQ4_1(src, dst)
	case Q5_0:
		dequantQ5_0(src, dst)
	case Q5_1:
		dequantQ5_1(src, dst)
	case Q8_0:
		dequantQ8_0(src, dst)
	case Q8_1:
		dequantQ8_1(src, dst)
	case Q4_K:
		dequantQ4_K(src, dst)
	case Q5_K:
		dequantQ5_K(src, dst)
	case Q6_K:
		dequantQ6_K(src, dst)
	case Q8_K:
		dequantQ8_K(src, dst)
	default:
		return fmt.Errorf("dequantize %s: type not supported", t)
	}
	return nil
}

// checkRow validates n values of t against a buffer of have bytes and returns
// the bytes needed.
func checkRow(t Type, n, have int) (int, error) {
	need, err := t.RowBytes(n)
	if err != nil {
		return 0, err
	}
	if have < need {
		return 0, fmt.Errorf("%d values need %d bytes, buffer has %d", n, need, have)
	}
	return need, nil
}

// Quantize converts src to type t with ggml's reference quantisers (the ones
// llama-quantize uses without an importance matrix), writing
// t.RowBytes(len(src)) bytes to dst. len(src) must be a multiple of the block
// size. Q2_K and Q3_K are refused.
func Quantize(t Type, src []float32, dst []byte) error {
	return quantize(t, src, dst, false)
}

// QuantizeActivations converts activations to t the way llama.cpp's x86 CPU
// backend does before a dot product (its from_float). It differs from
// Quantize only for Q8_0 and Q8_1: the inverse scale is 127/amax (not
// 1/(amax/127)) and rounding is to nearest even (not half away from zero).
func QuantizeActivations(t Type, src []float32, dst []byte) error {
	return quantize(t, src, dst, true)
}

func quantize(t Type, src []float32, dst []byte, act bool) error {
	need, err := checkRow(t, len(src), len(dst))
	if err != nil {
		return fmt.Errorf("quantize %s: %w", t, err)
	}
	dst = dst[:need]
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range src {
			put16(dst[2*i:], Float32ToFP16(v))
		}
	case BF16:
		for i, v := range src {
			put16(dst[2*i:], Float32ToBF16(v))
		}
	case Q4_0:
		quantQ4_0(src, dst)
	case Q4_1:
		quantQ4_1(src, dst)
	case Q5_0:
		quantQ5_0(src, dst)
	case Q5_1:
		quantQ5_1(src, dst)
	case Q8_0:
		if act {
			quantQ8_0Act(src, dst)
		} else {
			quantQ8_0(src, dst)
		}
	case Q8_1:
		quantQ8_1(src, dst, act)
	case Q4_K:
		quantQ45K(4, src, dst)
	case Q5_K:
		quantQ45K(5, src, dst)
	case Q6_K:
		quantQ6_K(src, dst)
	case Q8_K:
		quantQ8_K(src, dst)
	default:
		return fmt.Errorf("quantize %s: type not supported", t)
	}
	return nil
}

// VecDot returns the dot product of n weights of type t (w) with n
// activations of type VecDotType(t) (a), computed as ggml does: exact integer
// sums per block, scaled per block. F16 and BF16 products are summed in
// float64 and rounded to float32 at the end; F32 likewise.
// It panics on a programmer error: t without a dot product, n not a multiple
// of the block size, or a slice shorter than n values (like slice indexing).
func VecDot(t Type, n int, w, a []byte) float32 {
	if !t.Supported() {
		panic(fmt.Sprintf("quant.VecDot: no dot product for %s", t))
	}
	nw, err := checkRow(t, n, len(w))
	if err != nil {
		panic(fmt.Sprintf("quant.VecDot: weights: %v", err))
	}
	at := VecDotType(t)
	na, err := checkRow(at, n, len(a))
	if err != nil {
		panic(fmt.Sprintf("quant.VecDot: activations: %v", err))
	}
	w, a = w[:nw], a[:na]
	nb := n / t.BlockSize()
	switch t {
	case F32:
		var s float64
		for i := range n {
			s += float64(math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:]))) *
				float64(math.Float32frombits(binary.LittleEndian.Uint32(a[4*i:])))
		}
		return float32(s)
	case F16:
		var s float64
		for i := range n {
			s += float64(FP16ToFloat32(le16(w[2*i:]))) * float64(FP16ToFloat32(le16(a[2*i:])))
		}
		return float32(s)
	case BF16:
		var s float64
		for i := range n {
			s += float64(BF16ToFloat32(le16(w[2*i:]))) * float64(BF16ToFloat32(le16(a[2*i:])))
		}
		return float32(s)
	case Q4_0:
		return dotQ4_0(nb, w, a)
	case Q4_1:
		return dotQ4_1(nb, w, a)
	case Q5_0:
		return dotQ5_0(nb, w, a)
	case Q5_1:
		return dotQ5_1(nb, w, a)
	case Q8_0:
		return dotQ8_0(nb, w, a)
	case Q4_K:
		return dotQ4_K(nb, w, a)
	case Q5_K:
		return dotQ5_K(nb, w, a)
	case Q6_K:
		return dotQ6_K(nb, w, a)
	}
	panic("unreachable")
}
