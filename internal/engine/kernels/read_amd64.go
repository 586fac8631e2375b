//go:build !purego

package kernels

// readSum4 is readSum over 4 streams read side by side (n/4 bytes apart), n
// a multiple of 512 (> 0): the wrapping sum of the n/8 little-endian uint64
// words at p. Several streams per core reach more of the memory bandwidth
// than one, as the 16-row decode kernels do.
//
//go:noescape
func readSum4(n int, p *byte) uint64

// prefetchL2 asks for the n bytes at p to be brought into L2 (PREFETCHT1
// per 64-byte line; never faults). The tile drivers call it for the next
// tile of 16 weight rows so that the rows stream in while the current tile
// computes (16 rows read side by side defeat the hardware prefetcher).
func prefetchL2(p *byte, n int) { prefetchT1(p, n, 64) }

// q8Sums sets sums[b] to the sum of the 32 signed quants of Q8_0 block b of
// a, for b < nb (nb > 0): the activation tables of the Q4_0/Q8_0 kernels.
//
//go:noescape
func q8Sums(nb int, a *byte, sums *int32)

// prefetchPages prefetches one line per 4 KiB in [p, p+n): far enough ahead
// of a decode kernel, the page walks (for weights on 4 KiB pages) happen
// before the kernel gets there.
func prefetchPages(p *byte, n int) { prefetchT1(p, n, 4096) }

// prefetchT1 issues PREFETCHT1 (into L2; never faults) for p, p+step, ...
// below p+n:
//
//	for off := 0; off < n; off += step { prefetcht1(p[off:]) }
//
//go:noescape
func prefetchT1(p *byte, n, step int)

// pageAhead is how far ahead of the current tile prefetchPages runs.
const pageAhead = 64 << 10
