// Package kernels holds the engine's fast inner loops: dot products of
// quantised weight rows with quantised activations, activation quantisers
// and float32 helpers. Each operation has the plain-Go reference from
// engine/quant (or a Go loop here) and, on amd64 without the purego tag,
// Go assembly variants chosen at run time from golang.org/x/sys/cpu.
//
// Variants lists every implementation compiled in, so tests can check each
// one the CPU supports against the reference. Importers: engine/phi3 and
// other engine packages. kernels imports only engine/quant, the standard
// library and golang.org/x/sys/cpu.
package kernels
