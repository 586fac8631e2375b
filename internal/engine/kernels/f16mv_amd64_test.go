//go:build !purego

package kernels

import (
	"math"
	"testing"

	"maas/internal/engine/quant"
)

// f16ToF32 widens every F16 bit pattern exactly (NaNs stay NaNs).
func TestF16ToF32AllValues(t *testing.T) {
	if !cpu512() {
		t.Skip("no AVX-512")
	}
	src := make([]byte, 2*65536)
	for i := range 65536 {
		src[2*i], src[2*i+1] = byte(i), byte(i>>8)
	}
	dst := make([]float32, 65536+16)
	f16ToF32(65536+15, &src[0], &dst[0]) // the last 15 are left alone
	for i := range 65536 {
		want := quant.FP16ToFloat32(uint16(i))
		got := dst[i]
		if math.IsNaN(float64(want)) != math.IsNaN(float64(got)) || !math.IsNaN(float64(want)) && math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("f16 %#04x: got %v (%#08x), want %v", i, got, math.Float32bits(got), want)
		}
	}
}
