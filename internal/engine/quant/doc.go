// Package quant defines the ggml tensor types that Phi-3 GGUF files use and
// their plain-Go reference code: block layouts, dequantisation, the reference
// quantisers, the activation quantisers llama.cpp's CPU backend uses, and the
// integer dot products of weight blocks with 8-bit activation blocks.
//
// It is the ground truth for the fast kernels in engine/kernels, which are
// tested against it. Layouts and arithmetic follow ggml (ggml-common.h,
// ggml-quants.c) so that results reproduce llama.cpp's.
//
// quant is a leaf: it imports only the standard library, and anything in the
// engine may import it. It must not import any service package.
package quant
