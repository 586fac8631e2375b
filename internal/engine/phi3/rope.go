package phi3

import "math"

// ropeTable fills cos and sin (RopeDims/2 each) for position pos, as
// ggml's rope cache does: theta starts at pos and is multiplied by
// base^(-2/RopeDims) per pair in float32; pair i uses theta/factor[i]; both
// cos and sin are scaled by the attention factor.
func ropeTable(cfg *Config, pos int, factor []float32, cos, sin []float32) {
	scale := float32(math.Pow(float64(cfg.RopeBase), -2/float64(cfg.RopeDims)))
	theta := float32(pos)
	for i := range cos {
		t := theta
		if factor != nil {
			t = theta / factor[i]
		}
		cos[i] = float32(math.Cos(float64(t))) * cfg.AttnFactor
		sin[i] = float32(math.Sin(float64(t))) * cfg.AttnFactor
		theta *= scale
	}
}

// ropeNeoX rotates the first 2*len(cos) values of each head of x (heads of
// headDim values): element i pairs with element i+len(cos).
func ropeNeoX(x []float32, heads, headDim int, cos, sin []float32) {
	half := len(cos)
	for h := range heads {
		v := x[h*headDim : h*headDim+2*half]
		for i := range half {
			a, b := v[i], v[i+half]
			v[i] = a*cos[i] - b*sin[i]
			v[i+half] = a*sin[i] + b*cos[i]
		}
	}
}
