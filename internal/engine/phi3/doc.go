// Package phi3 runs the Phi-3 family (GGUF architecture "phi3": Phi-3-mini,
// Phi-3-medium, the 128k LongRoPE variants, Phi-3.5-mini) on the CPU.
//
// A Model is built from a GGUF file's metadata and tensors alone; weights stay
// in the file's read-only mapping and are dequantised block by block inside
// the matrix products. Forward takes a batch of tokens from one or more
// sequences, each with its own Cache, and returns logits only for the rows
// asked for, so a prompt is a matrix-matrix product and several sequences can
// share a step.
//
// The computation follows llama.cpp's phi3 graph (NeoX RoPE, fused QKV and
// gate/up, LongRoPE factors chosen by the sequence's configured context, the
// sliding-window mask) and its CPU numerics: activations are rounded to F16
// before products with F16 weights and quantised to the weight type's
// vec-dot type before products with quantised weights.
//
// phi3 imports only the standard library and engine/{gguf,quant,kernels}; it knows
// nothing of HTTP, SQL or the service. The scheduler and commands import it.
package phi3
