//go:build amd64 && !purego

package kernels

import (
	"math/rand/v2"
	"testing"
)

func TestQ8Sums(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, nb := range []int{1, 2, 7, 96} {
		a := make([]byte, nb*34)
		for i := range a {
			a[i] = byte(r.IntN(256))
		}
		for b := 0; b < nb && b < 2; b++ { // extremes
			for j := range 32 {
				a[b*34+2+j] = byte(0x80 >> (b * 7)) // -128 or +1
			}
		}
		got := make([]int32, nb)
		q8Sums(nb, &a[0], &got[0])
		for b := range nb {
			var want int32
			for _, q := range a[b*34+2 : b*34+34] {
				want += int32(int8(q))
			}
			if got[b] != want {
				t.Fatalf("nb %d block %d: %d, want %d", nb, b, got[b], want)
			}
		}
	}
}
