//go:build !purego

package kernels

// matMul16Q4_K returns the 16-row x 8-activation Q4_K tile kernel (nil: none yet).
func matMul16Q4_K() matMul16Func { return nil }
