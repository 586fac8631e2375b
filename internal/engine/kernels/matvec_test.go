package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"maas/internal/engine/quant"
)

func checkMatVec(t *testing.T, v MatVecVariant, r *rand.Rand, n, rows, pad int, raw bool) {
	t.Helper()
	rowBytes, _ := v.Type.RowBytes(n)
	stride := rowBytes + pad
	w := make([]byte, rows*stride)
	for i := range rows {
		copy(w[i*stride:], randWeights(r, v.Type, n, raw))
	}
	a := randActivations(r, v.Type, n, 1)
	out := make([]float32, rows)
	for i := range out {
		out[i] = float32(math.NaN()) // must be overwritten
	}
	v.MatVec(n, w, stride, a, out)
	for i := range rows {
		row := w[i*stride : i*stride+rowBytes]
		want := refDot(v.Type)(n, row, a)
		if d := math.Abs(float64(out[i]) - float64(want)); !(d <= dotTol*magnitude(v.Type, n, row, a)+1e-30) {
			t.Fatalf("%s/%s n=%d rows=%d pad=%d: row %d = %v, reference %v", v.Type, v.Name, n, rows, pad, i, out[i], want)
		}
	}
}

func TestMatVecVariants(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, v := range MatVecVariants() {
		if !v.Available {
			t.Logf("%s/%s: not supported by this CPU, skipped", v.Type, v.Name)
			continue
		}
		bs := v.Type.BlockSize()
		if bs == 1 {
			bs = 32
		}
		for _, nb := range []int{1, 2, 3, 12} {
			for _, rows := range []int{0, 1, 7, 8, 9, 17} {
				checkMatVec(t, v, r, nb*bs, rows, 0, true)
				checkMatVec(t, v, r, nb*bs, rows, 6, false)
			}
		}
	}
}

func FuzzMatVec(f *testing.F) {
	f.Add(uint64(1), uint8(3), uint8(2), uint8(9))
	f.Fuzz(func(t *testing.T, seed uint64, which, nblocks, rows uint8) {
		var avail []MatVecVariant
		for _, v := range MatVecVariants() {
			if v.Available {
				avail = append(avail, v)
			}
		}
		v := avail[int(which)%len(avail)]
		bs := v.Type.BlockSize()
		if bs == 1 {
			bs = 32
		}
		r := rand.New(rand.NewPCG(seed, 7))
		checkMatVec(t, v, r, bs*(1+int(nblocks%12)), int(rows%20), int(seed%5), seed%2 == 0)
	})
}

// BenchmarkMatVec: one core, a weight matrix streamed from memory (or in
// L2) against one activation row; GB/s of weights read.
func BenchmarkMatVec(b *testing.B) {
	for _, v := range MatVecVariants() {
		if !v.Available {
			continue
		}
		for _, size := range []struct {
			name  string
			bytes int
		}{{"stream", benchStreamMiB << 20}, {"L2", benchL2KiB << 10}} {
			b.Run(fmt.Sprintf("%s/%s/%s", v.Type, v.Name, size.name), func(b *testing.B) {
				rowBytes, _ := v.Type.RowBytes(benchN)
				rows := max(8, size.bytes/rowBytes) &^ 7
				r := rand.New(rand.NewPCG(1, 2))
				w := make([]byte, rows*rowBytes)
				one := randWeights(r, v.Type, benchN, false)
				for i := range rows {
					copy(w[i*rowBytes:], one)
				}
				a := randActivations(r, v.Type, benchN, 0)
				out := make([]float32, rows)
				b.SetBytes(int64(len(w)))
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				c0 := threadCPU()
				for b.Loop() {
					v.MatVec(benchN, w, rowBytes, a, out)
				}
				reportRate(b, float64(len(w))*float64(b.N)/1e9, "GB/s", c0)
			})
		}
	}
}

func TestMatMul(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, typ := range []quant.Type{quant.F32, quant.F16, quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q5_K, quant.Q6_K} {
		mm, err := MatMul(typ)
		if err != nil {
			t.Fatal(err)
		}
		n := 512
		rowBytes, _ := typ.RowBytes(n)
		for _, shape := range [][2]int{{1, 1}, {9, 1}, {17, 3}, {300, 2}, {5, 4}, {3, 9}, {70, 5}, {33, 13}} {
			rows, m := shape[0], shape[1]
			w := make([]byte, rows*rowBytes)
			for i := range rows {
				copy(w[i*rowBytes:], randWeights(r, typ, n, i%2 == 0))
			}
			at := quant.VecDotType(typ)
			aRow, _ := at.RowBytes(n)
			a := make([]byte, m*aRow)
			for i := range m {
				copy(a[i*aRow:], randActivations(r, typ, n, 1))
			}
			ldd := rows + 3
			dst := make([]float32, m*ldd)
			mm(n, w, rowBytes, rows, a, aRow, m, dst, ldd)
			for i := range m {
				for k := range rows {
					wr, ar := w[k*rowBytes:(k+1)*rowBytes], a[i*aRow:(i+1)*aRow]
					want := quant.VecDot(typ, n, wr, ar)
					if d := math.Abs(float64(dst[i*ldd+k] - want)); !(d <= dotTol*magnitude(typ, n, wr, ar)+1e-30) {
						t.Fatalf("%s %dx%d: dst[%d][%d] = %v, want %v", typ, rows, m, i, k, dst[i*ldd+k], want)
					}
				}
			}
		}
	}
}

func TestDot4(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	ran := 0
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q5_K, quant.Q6_K} {
		d4 := archDot4(typ)
		if d4 == nil {
			continue
		}
		ran++
		for _, nb := range []int{1, 2, 7} {
			n := nb * typ.BlockSize()
			w := randWeights(r, typ, n, nb%2 == 1)
			aRow, _ := quant.VecDotType(typ).RowBytes(n)
			stride := aRow + 5
			a := make([]byte, 4*stride)
			for i := range 4 {
				copy(a[i*stride:], randActivations(r, typ, n, 1))
			}
			var out [4]float32
			d4(nb, &w[0], &a[0], stride, &out[0])
			for i := range 4 {
				ai := a[i*stride : i*stride+aRow]
				want := quant.VecDot(typ, n, w, ai)
				if d := math.Abs(float64(out[i] - want)); !(d <= dotTol*magnitude(typ, n, w, ai)+1e-30) {
					t.Fatalf("%s nb=%d: row %d = %v, reference %v", typ, nb, i, out[i], want)
				}
			}
		}
	}
	t.Logf("%d four-row kernels checked", ran)
}

// TestDot8 checks the 8-row kernels against the reference and, bit for bit,
// against the 4-row kernels on the same rows.
func TestDot8(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 12))
	ran := 0
	for _, typ := range []quant.Type{quant.Q4_K, quant.Q5_K, quant.Q6_K} {
		d8, d4 := archDot8(typ), archDot4(typ)
		if d8 == nil {
			continue
		}
		ran++
		for _, nb := range []int{1, 2, 7} {
			n := nb * typ.BlockSize()
			w := randWeights(r, typ, n, nb%2 == 1)
			aRow, _ := quant.VecDotType(typ).RowBytes(n)
			stride := aRow + 3
			a := make([]byte, 8*stride)
			for i := range 8 {
				copy(a[i*stride:], randActivations(r, typ, n, 1))
			}
			var out [8]float32
			d8(nb, &w[0], &a[0], stride, &out[0])
			var four [8]float32
			d4(nb, &w[0], &a[0], stride, &four[0])
			d4(nb, &w[0], &a[4*stride], stride, &four[4])
			for i := range 8 {
				ai := a[i*stride : i*stride+aRow]
				want := quant.VecDot(typ, n, w, ai)
				if d := math.Abs(float64(out[i] - want)); !(d <= dotTol*magnitude(typ, n, w, ai)+1e-30) {
					t.Fatalf("%s nb=%d: row %d = %v, reference %v", typ, nb, i, out[i], want)
				}
				if math.Float32bits(out[i]) != math.Float32bits(four[i]) {
					t.Fatalf("%s nb=%d: row %d = %v, 4-row kernel %v", typ, nb, i, out[i], four[i])
				}
			}
		}
	}
	t.Logf("%d eight-row kernels checked", ran)
}

// FuzzMatMul checks MatMul (all its tile kernels and leftovers) against
// quant.VecDot for random types, shapes and weight bits.
func FuzzMatMul(f *testing.F) {
	f.Add(uint64(1), uint8(0), uint8(3), uint8(9), uint8(5))
	f.Add(uint64(2), uint8(3), uint8(1), uint8(17), uint8(13))
	f.Fuzz(func(t *testing.T, seed uint64, which, nblocks, rows, m uint8) {
		types := []quant.Type{quant.F16, quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q5_K, quant.Q6_K}
		typ := types[int(which)%len(types)]
		r := rand.New(rand.NewPCG(seed, 11))
		bs := typ.BlockSize()
		if bs == 1 {
			bs = 32
		}
		n := bs * (1 + int(nblocks%6))
		nr, nm := 1+int(rows%40), 1+int(m%20)
		rowBytes, _ := typ.RowBytes(n)
		stride := rowBytes + int(seed%3)
		w := make([]byte, nr*stride)
		for i := range nr {
			copy(w[i*stride:], randWeights(r, typ, n, seed%2 == 0))
		}
		aRow, _ := quant.VecDotType(typ).RowBytes(n)
		aStride := aRow + int(seed%5)
		a := make([]byte, nm*aStride)
		for i := range nm {
			copy(a[i*aStride:], randActivations(r, typ, n, 1))
		}
		ldd := nr + int(seed%4)
		dst := make([]float32, nm*ldd)
		mm, err := MatMul(typ)
		if err != nil {
			t.Fatal(err)
		}
		mm(n, w, stride, nr, a, aStride, nm, dst, ldd)
		for i := range nm {
			for k := range nr {
				wr, ar := w[k*stride:k*stride+rowBytes], a[i*aStride:i*aStride+aRow]
				want := quant.VecDot(typ, n, wr, ar)
				got := dst[i*ldd+k]
				if got == want || math.IsInf(float64(want), 0) || want != want {
					continue
				}
				if d := math.Abs(float64(got - want)); !(d <= dotTol*magnitude(typ, n, wr, ar)+1e-30) {
					t.Fatalf("%s n=%d rows=%d m=%d: dst[%d][%d] = %v, want %v", typ, n, nr, nm, i, k, got, want)
				}
			}
		}
	})
}
