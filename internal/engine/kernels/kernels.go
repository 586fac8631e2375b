package kernels

import (
	"fmt"

	"maas/internal/engine/quant"
)

// DotFunc computes the dot product of n weights (w, of the variant's weight
// type) with n activations (a, of quant.VecDotType of that type). n must be
// a multiple of the type's block size and the slices at least that long; it
// panics otherwise, like slice indexing. Activation bytes must come from
// Quantize (8-bit values in [-127, 127]).
type DotFunc func(n int, w, a []byte) float32

// QuantizeFunc converts len(x) float32 activations to its type, writing
// RowBytes(len(x)) bytes to dst; same panics as DotFunc.
type QuantizeFunc func(x []float32, dst []byte)

// Variant is one implementation of a dot product.
type Variant struct {
	Name      string     // "go", "avx2", "avx512vnni"
	Type      quant.Type // weight type
	Dot       DotFunc
	Available bool // the running CPU supports it
}

// QuantVariant is one implementation of an activation quantiser.
type QuantVariant struct {
	Name      string
	Type      quant.Type // activation type
	Quantize  QuantizeFunc
	Available bool
}

// VecDot returns the fastest available dot product for weights of type t, or
// an error if t has no dot product.
func VecDot(t quant.Type) (DotFunc, error) {
	if !t.Supported() {
		return nil, fmt.Errorf("kernels: no dot product for weight type %s", t)
	}
	best := DotFunc(nil)
	for _, v := range Variants() {
		if v.Type == t && v.Available {
			best = v.Dot // variants are listed slowest first
		}
	}
	return best, nil
}

// Quantize returns the fastest activation quantiser for type t (an
// activation type: Q8_0, Q8_1, Q8_K, F16, BF16 or F32). Results are identical
// to quant.QuantizeActivations.
func Quantize(t quant.Type) (QuantizeFunc, error) {
	var best QuantizeFunc
	for _, v := range QuantVariants() {
		if v.Type == t && v.Available {
			best = v.Quantize
		}
	}
	if best == nil {
		return nil, fmt.Errorf("kernels: no activation quantiser for %s", t)
	}
	return best, nil
}

// Variants lists every dot-product implementation compiled in, the Go
// reference first, then faster ones in order of preference.
func Variants() []Variant {
	var vs []Variant
	for _, t := range []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q4_0, quant.Q4_1, quant.Q5_0,
		quant.Q5_1, quant.Q8_0, quant.Q4_K, quant.Q5_K, quant.Q6_K} {
		vs = append(vs, Variant{Name: "go", Type: t, Dot: refDot(t), Available: true})
	}
	return append(vs, archVariants()...)
}

// QuantVariants lists every activation quantiser compiled in, reference first.
func QuantVariants() []QuantVariant {
	var vs []QuantVariant
	for _, t := range []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q8_0, quant.Q8_1, quant.Q8_K} {
		vs = append(vs, QuantVariant{Name: "go", Type: t, Quantize: refQuantize(t), Available: true})
	}
	return append(vs, archQuantVariants()...)
}

func refDot(t quant.Type) DotFunc {
	return func(n int, w, a []byte) float32 { return quant.VecDot(t, n, w, a) }
}

func refQuantize(t quant.Type) QuantizeFunc {
	return func(x []float32, dst []byte) {
		if err := quant.QuantizeActivations(t, x, dst); err != nil {
			panic(fmt.Sprintf("kernels: quantize: %v", err))
		}
	}
}

// blocks checks the arguments of a dot product and returns the block count.
func blocks(t quant.Type, n int, w, a []byte) int {
	bs := t.BlockSize()
	if n < 0 || n%bs != 0 {
		panic(fmt.Sprintf("kernels: %s dot of %d values: not a multiple of %d", t, n, bs))
	}
	nb := n / bs
	at := quant.VecDotType(t)
	if len(w) < nb*t.BlockBytes() || len(a) < nb*at.BlockBytes() {
		panic(fmt.Sprintf("kernels: %s dot of %d values: weights %d bytes, activations %d bytes", t, n, len(w), len(a)))
	}
	return nb
}
