//go:build !purego

package kernels

import (
	"encoding/binary"
	"fmt"
	"math"

	"maas/internal/engine/quant"
)

func archQuantVariants() []QuantVariant {
	a := hasAVX2()
	return []QuantVariant{
		{"avx2", quant.Q8_0, quantizeQ8_0, a},
		{"avx2", quant.Q8_K, quantizeQ8_K, a},
	}
}

func checkQuant(t quant.Type, x []float32, dst []byte) int {
	need, err := t.RowBytes(len(x))
	if err != nil || len(dst) < need {
		panic(fmt.Sprintf("kernels: quantize %d values to %s into %d bytes: %v", len(x), t, len(dst), err))
	}
	return len(x) / t.BlockSize()
}

func quantizeQ8_0(x []float32, dst []byte) {
	if nb := checkQuant(quant.Q8_0, x, dst); nb > 0 {
		quantQ8_0AVX2(nb, &x[0], &dst[0])
	}
}

// quantizeQ8_K matches quant's Q8_K quantiser: the block's scale comes from
// its value of largest magnitude, the first one on ties of magnitude.
func quantizeQ8_K(x []float32, dst []byte) {
	nb := checkQuant(quant.Q8_K, x, dst)
	for b := range nb {
		xb := x[b*256 : (b+1)*256]
		y := dst[b*292 : (b+1)*292]
		amax, hi, lo := absMaxMinF32(256, &xb[0])
		if amax == 0 || amax != amax {
			if err := quant.QuantizeActivations(quant.Q8_K, xb, y); err != nil {
				panic(err)
			}
			continue
		}
		maxv := hi
		switch {
		case hi == amax && -lo == amax: // both signs reach amax: the first wins
			for _, v := range xb {
				if float32(math.Abs(float64(v))) == amax {
					maxv = v
					break
				}
			}
		case -lo == amax:
			maxv = lo
		}
		iscale := -127 / maxv
		quantQ8_KBlockAVX2(&xb[0], iscale, &y[0])
		binary.LittleEndian.PutUint32(y, math.Float32bits(1/iscale))
	}
}

// quantQ8_0AVX2 is quant's Q8_0 activation quantiser for nb blocks:
//
//	for each block of 32 x: amax := max|x|; d := amax/127; id := 127/amax (0 if amax == 0)
//		dst.d = f16(d); dst.qs[j] = int8(roundToEven(x[j]*id))
//
//go:noescape
func quantQ8_0AVX2(nb int, x *float32, dst *byte)

// absMaxMinF32 returns max|x|, max x and min x over n values (n a multiple
// of 32, > 0).
//
//go:noescape
func absMaxMinF32(n int, x *float32) (amax, max, min float32)

// quantQ8_KBlockAVX2 writes one Q8_K block's qs and bsums (not d):
//
//	for j := range 256 { qs[j] = int8(min(127, roundToEven(iscale*x[j]))) }
//	for g := range 16 { bsums[g] = Σ qs[16g:16g+16] }
//
//go:noescape
func quantQ8_KBlockAVX2(x *float32, iscale float32, dst *byte)
