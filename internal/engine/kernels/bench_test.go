package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"maas/internal/engine/quant"
)

// Row length of Phi-3-mini's d_model; matrices are sized to be streamed from
// memory (weights larger than the last-level cache) or to sit in L2.
const (
	benchN         = 3072
	benchStreamMiB = 96
	benchL2KiB     = 512
)

// BenchmarkVecDot runs every available variant over a weight matrix against
// one activation row, like a decode matrix-vector product on one core, and
// reports the GB/s of weights read.
func BenchmarkVecDot(b *testing.B) {
	for _, v := range Variants() {
		if !v.Available {
			continue
		}
		for _, size := range []struct {
			name  string
			bytes int
		}{{"stream", benchStreamMiB << 20}, {"L2", benchL2KiB << 10}} {
			b.Run(fmt.Sprintf("%s/%s/%s", v.Type, v.Name, size.name), func(b *testing.B) {
				rowBytes, _ := v.Type.RowBytes(benchN)
				rows := max(1, size.bytes/rowBytes)
				if v.Name == "go" && size.name == "stream" {
					rows = max(1, rows/16) // the reference is slow; keep it short
				}
				r := rand.New(rand.NewPCG(1, 2))
				w := make([]byte, rows*rowBytes)
				one := randWeights(r, v.Type, benchN, false)
				for i := range rows {
					copy(w[i*rowBytes:], one)
				}
				a := randActivations(r, v.Type, benchN, 0)
				var sink float32
				b.SetBytes(int64(len(w)))
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				c0 := threadCPU()
				for b.Loop() {
					for i := range rows {
						sink += v.Dot(benchN, w[i*rowBytes:(i+1)*rowBytes], a)
					}
				}
				_ = sink
				reportRate(b, float64(len(w))*float64(b.N)/1e9, "GB/s", c0)
			})
		}
	}
}

// BenchmarkQuantize measures the activation quantisers on one d_model row.
func BenchmarkQuantize(b *testing.B) {
	for _, v := range QuantVariants() {
		if !v.Available {
			continue
		}
		b.Run(v.Type.String()+"/"+v.Name, func(b *testing.B) {
			x := make([]float32, benchN)
			r := rand.New(rand.NewPCG(3, 4))
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			size, _ := v.Type.RowBytes(benchN)
			dst := make([]byte, size)
			b.SetBytes(4 * benchN)
			for b.Loop() {
				v.Quantize(x, dst)
			}
		})
	}
}

// BenchmarkF32 measures Dot and Axpy on attention-sized rows (L1 resident).
func BenchmarkF32(b *testing.B) {
	x, y := make([]float32, 4096), make([]float32, 4096)
	for i := range x {
		x[i], y[i] = 1, 0.5
	}
	b.Run("Dot", func(b *testing.B) {
		var s float32
		for b.Loop() {
			s += Dot(x, y)
		}
		_ = s
		b.ReportMetric(2*4096*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("Axpy", func(b *testing.B) {
		for b.Loop() {
			Axpy(1e-9, x, y)
		}
		b.ReportMetric(2*4096*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// BenchmarkReadBandwidth measures memory read bandwidth over a 256 MiB buffer
// with 1 and 2 goroutines (each reads its half), each reading 1 or 4 streams
// side by side: the ceiling for decoding is the best of these.
func BenchmarkReadBandwidth(b *testing.B) {
	const size = 256 << 20
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte(i)
	}
	for _, workers := range []int{1, 2} {
		for _, streams := range []int{1, 4} {
			read := readSum
			if streams == 4 {
				read = readSum4
			}
			b.Run(fmt.Sprintf("goroutines=%d/streams=%d", workers, streams), func(b *testing.B) {
				part := size / workers
				sums := make([]uint64, workers)
				b.SetBytes(size)
				for b.Loop() {
					var wg sync.WaitGroup
					for g := range workers {
						wg.Go(func() { sums[g] += read(part, &buf[g*part]) })
					}
					wg.Wait()
				}
				b.ReportMetric(float64(size)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	}
}

// BenchmarkMatMul: a prompt-sized product on one core, 256 weight rows of
// d_model values times 64 activation rows; reports GMAC/s. "dot" is the
// per-row, per-activation VecDot loop; "matmul" is MatMul.
func BenchmarkMatMul(b *testing.B) {
	const rows, m = 256, 64
	for _, typ := range []quant.Type{quant.F16, quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q5_K, quant.Q6_K} {
		r := rand.New(rand.NewPCG(5, 6))
		rowBytes, _ := typ.RowBytes(benchN)
		w := make([]byte, rows*rowBytes)
		for i := range rows {
			copy(w[i*rowBytes:], randWeights(r, typ, benchN, false))
		}
		aRow, _ := quant.VecDotType(typ).RowBytes(benchN)
		a := make([]byte, m*aRow)
		for i := range m {
			copy(a[i*aRow:], randActivations(r, typ, benchN, 0))
		}
		dst := make([]float32, m*rows)
		dot, _ := VecDot(typ)
		mm, _ := MatMul(typ)
		b.Run(typ.String()+"/dot", func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c0 := threadCPU()
			for b.Loop() {
				for k := range rows {
					for i := range m {
						dst[i*rows+k] = dot(benchN, w[k*rowBytes:], a[i*aRow:])
					}
				}
			}
			reportRate(b, float64(rows*m*benchN)*float64(b.N)/1e9, "GMAC/s", c0)
		})
		b.Run(typ.String()+"/matmul", func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c0 := threadCPU()
			for b.Loop() {
				mm(benchN, w, rowBytes, rows, a, aRow, m, dst, rows)
			}
			reportRate(b, float64(rows*m*benchN)*float64(b.N)/1e9, "GMAC/s", c0)
		})
	}
}

// reportRate reports amount/elapsed as unit and, where the thread CPU clock
// is available, amount per second of this thread's CPU time as unit+"-cpu"
// (robust when other processes compete for the cores).
func reportRate(b *testing.B, amount float64, unit string, cpu0 time.Duration) {
	b.ReportMetric(amount/b.Elapsed().Seconds(), unit)
	if haveThreadCPU {
		if d := threadCPU() - cpu0; d > 0 {
			b.ReportMetric(amount/d.Seconds(), unit+"-cpu")
		}
	}
}
