// Package kernels holds the engine's fast inner loops: dot products of
// quantised weight rows with quantised activations (VecDot), matrix-vector
// products for decoding (MatVec), blocked matrix products for prompts
// (MatMul), activation quantisers (Quantize) and float32 helpers (Dot,
// Axpy). Each has a plain-Go path built on engine/quant; on amd64 without
// the purego tag, Go assembly variants (AVX2+FMA+F16C, AVX-512 BW/VL, AVX-512
// VNNI) are chosen at run time from golang.org/x/sys/cpu. Results equal
// quant's reference up to float32 rounding of the per-block scaling
// (quantisers: byte for byte).
//
// Variants, MatVecVariants and QuantVariants list every implementation
// compiled in, so tests check each one the CPU supports against the
// reference. Importers: engine/phi3 and other engine packages. kernels
// imports only engine/quant, the standard library and golang.org/x/sys/cpu.
package kernels
