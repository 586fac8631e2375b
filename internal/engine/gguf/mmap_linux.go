//go:build linux

package gguf

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the x86-64 and arm64 (4 KiB granule) PMD size.
const hugePage = 2 << 20

// mapFile maps size bytes of fd read-only at a 2 MiB-aligned address
// (mapAligned) and marks the mapping MADV_HUGEPAGE, so that where the kernel
// holds the file in 2 MiB page-cache folios (ext4 and xfs on Linux 6.x, for
// data read sequentially or faulted in through such a mapping) it is mapped
// with 2 MiB pages: one TLB entry and no page walk per 2 MiB of weights
// instead of per 4 KiB. Decoding streams every weight once per token, and on
// 4 KiB pages it reaches about half the memory bandwidth (BENCHMARKS.md).
// Prefault makes the pages resident.
func mapFile(fd, size int) (span, mem []byte, err error) {
	span, mem, err = mapAligned(fd, size)
	if err == nil {
		// Best effort: EINVAL where transparent huge pages are compiled out.
		_ = unix.Madvise(mem, unix.MADV_HUGEPAGE)
	}
	return span, mem, err
}

// mapAligned maps size bytes of fd read-only at a 2 MiB-aligned address:
// it reserves size+2 MiB of address space (no memory), then maps the file
// over the reservation's first aligned address. span is the whole
// reservation (what Munmap releases); mem is the file.
func mapAligned(fd, size int) (span, mem []byte, err error) {
	span, err = unix.Mmap(-1, 0, size+hugePage, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, nil, fmt.Errorf("reserve %d bytes of address space: %w", size+hugePage, err)
	}
	off := int((hugePage - uintptr(unsafe.Pointer(&span[0]))%hugePage) % hugePage)
	_, _, errno := unix.Syscall6(unix.SYS_MMAP, uintptr(unsafe.Pointer(&span[off])), uintptr(size),
		unix.PROT_READ, unix.MAP_SHARED|unix.MAP_FIXED, uintptr(fd), 0)
	if errno != 0 {
		unix.Munmap(span)
		return nil, nil, errno
	}
	return span, span[off : off+size : off+size], nil
}
