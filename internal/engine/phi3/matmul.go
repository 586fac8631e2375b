package phi3

// Every product of activations with a weight matrix goes through matmul, so
// faster kernels replace the inner loops here and nowhere else.

// matTask computes dst[i*ldd+r] = W[r,:] . x[i,:] for weight rows [lo, hi)
// and all n activation rows.
type matTask struct {
	dst []float32
	ldd int
	w   *Weight
	xq  []byte // (n, qrw) activations converted to the weight's vec-dot type
	qrw int    // bytes per row of xq
	n   int
}

func (t *matTask) run(worker, lo, hi int) {
	w := t.w
	w.k.matmul(w.Cols, w.Data[lo*w.RowBytes:hi*w.RowBytes], w.RowBytes, hi-lo, t.xq, t.qrw, t.n, t.dst[lo:], t.ldd)
}

// matmul computes, for each of the n rows x[i] (w.Cols values, contiguous),
// dst[i*ldd : i*ldd+w.Rows] = W @ x[i]. The activations are converted once
// per call (see kernel in kernel.go); x is not modified. Workers take
// ranges of weight rows; each range is read once and multiplied with all n
// rows while it is in cache.
func (m *Model) matmul(dst []float32, ldd int, w *Weight, x []float32, n int) {
	t := &m.s.mat
	cols := w.Cols
	qrw := w.actRowBytes
	xq := m.s.xq[:n*qrw]
	for i := range n {
		w.k.quantize(x[i*cols:(i+1)*cols], xq[i*qrw:(i+1)*qrw])
	}
	*t = matTask{dst: dst, ldd: ldd, w: w, xq: xq, qrw: qrw, n: n}
	m.pool.run(t, w.Rows, 16)
	*t = matTask{}
}
