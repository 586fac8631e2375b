package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"maas/internal/engine/quant"
)

// With two or more activation rows, a row's results are bit for bit the same
// whatever the batch around it (size, place in the group, padding), so a
// sequence's logits do not depend on what it is batched with.
func TestMatMulRowIndependentOfBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	ran := 0
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q5_K, quant.Q6_K} {
		if g, _ := archMatMul16(typ); g == 0 {
			continue
		}
		ran++
		const n, rows, total = 512, 48, 40
		rowBytes, _ := typ.RowBytes(n)
		w := make([]byte, rows*rowBytes)
		for i := range rows {
			copy(w[i*rowBytes:], randWeights(r, typ, n, i%2 == 0))
		}
		aRow, _ := quant.VecDotType(typ).RowBytes(n)
		a := make([]byte, total*aRow)
		for i := range total {
			copy(a[i*aRow:], randActivations(r, typ, n, 1))
		}
		mm, err := MatMul(typ)
		if err != nil {
			t.Fatal(err)
		}
		ref := make([]float32, total*rows)
		mm(n, w, rowBytes, rows, a, aRow, total, ref, rows)
		for _, m := range []int{2, 3, 5, 7, 8, 9, 13, 16, 17, 24, 31} {
			for _, k := range []int{0, 1, 6} {
				if k+m > total {
					continue
				}
				dst := make([]float32, m*rows)
				mm(n, w, rowBytes, rows, a[k*aRow:(k+m)*aRow], aRow, m, dst, rows)
				for i := range m {
					for j := range rows {
						got, want := dst[i*rows+j], ref[(k+i)*rows+j]
						if math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%s: row %d of activation %d: %v in a batch of %d at %d, %v in a batch of %d", typ, j, k+i, got, m, k, want, total)
						}
					}
				}
			}
		}
	}
	if ran == 0 {
		t.Skip("no 16-row tile kernels on this CPU")
	}
}
