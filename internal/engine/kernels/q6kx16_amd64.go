//go:build !purego

package kernels

// matMul16Q6_K returns the 16-row x 8-activation Q6_K tile kernel (nil: none yet).
func matMul16Q6_K() matMul16Func { return nil }
