//go:build !purego

package kernels

// readSum4 is readSum over 4 streams read side by side (n/4 bytes apart), n
// a multiple of 512 (> 0): the wrapping sum of the n/8 little-endian uint64
// words at p. Several streams per core reach more of the memory bandwidth
// than one, as the 16-row decode kernels do.
//
//go:noescape
func readSum4(n int, p *byte) uint64
