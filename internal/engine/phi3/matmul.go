package phi3

// Every product of activations with a weight matrix goes through matmul, so
// faster kernels replace the inner loops here and nowhere else.

// matTask computes dst[i*ldd+r] = W[r,:] . x[i,:] for weight rows [lo, hi)
// and all n activation rows.
type matTask struct {
	m   *Model
	dst []float32
	ldd int
	w   *Weight
	x   []float32 // (n, Cols) float activations, already rounded (float weights)
	xq  []byte    // (n, qrow) converted activations (quantised weights)
	qrw int       // bytes per row of xq
	n   int
}

func (t *matTask) run(worker, lo, hi int) {
	w, n, cols := t.w, t.n, t.w.Cols
	if floatWeight(w.Type) {
		row := t.m.s.rowBuf[worker][:cols]
		for r := lo; r < hi; r++ {
			// The row was validated at load; dequantRow cannot fail here.
			_ = dequantRow(w.Type, w.Row(r), row)
			for i := range n {
				t.dst[i*t.ldd+r] = dotF32(row, t.x[i*cols:(i+1)*cols])
			}
		}
		return
	}
	for r := lo; r < hi; r++ {
		wr := w.Row(r)
		for i := range n {
			t.dst[i*t.ldd+r] = vecDot(w.Type, cols, wr, t.xq[i*t.qrw:(i+1)*t.qrw])
		}
	}
}

// matmul computes, for each of the n rows x[i] (w.Cols values, contiguous),
// dst[i*ldd : i*ldd+w.Rows] = W @ x[i]. The activations are first converted
// as llama.cpp's CPU backend does (see kernel.go); x is not modified.
func (m *Model) matmul(dst []float32, ldd int, w *Weight, x []float32, n int) {
	t := &m.s.mat
	*t = matTask{m: m, dst: dst, ldd: ldd, w: w, n: n}
	cols := w.Cols
	if floatWeight(w.Type) {
		xr := m.s.xr[:n*cols]
		copy(xr, x[:n*cols])
		roundActs(w.Type, xr)
		t.x = xr
	} else {
		t.qrw = actRowBytes(w.Type, cols)
		t.xq = m.s.xq[:n*t.qrw]
		// Types were checked at load; conversion cannot fail here.
		_ = quantActs(w.Type, x[:n*cols], cols, n, t.xq)
	}
	m.pool.run(t, w.Rows, 4)
	*t = matTask{}
}
