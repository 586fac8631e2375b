package kernels

// Dot returns Σ x[i]*y[i] over len(x) values (y at least as long).
func Dot(x, y []float32) float32 {
	y = y[:len(x)]
	if n := len(x) &^ 31; n > 0 && haveFMA() {
		s := dotF32(n, &x[0], &y[0])
		for i := n; i < len(x); i++ {
			s += x[i] * y[i]
		}
		return s
	}
	return dotF32Go(x, y)
}

// Axpy computes y[i] += alpha*x[i] for i < len(x) (y at least as long).
func Axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	n := 0
	if n = len(x) &^ 31; n > 0 && haveFMA() {
		axpyF32(n, alpha, &x[0], &y[0])
	} else {
		n = 0
	}
	for i := n; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}

func dotF32Go(x, y []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}
