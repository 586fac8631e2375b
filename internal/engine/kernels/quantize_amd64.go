//go:build !purego

package kernels

func archQuantVariants() []QuantVariant { return nil }
