//go:build !purego

package kernels

// matMul16Q5_K returns the 16-row x 8-activation Q5_K tile kernel (nil: none yet).
func matMul16Q5_K() matMul16Func { return nil }
