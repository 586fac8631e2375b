//go:build linux

package gguf

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the x86-64 and arm64 (4 KiB granule) PMD size.
const hugePage = 2 << 20

// Open maps the file at path read-only and parses it. Tensor data returned
// by Data points into the mapping until Close.
//
// The mapping starts on a 2 MiB boundary and is marked MADV_HUGEPAGE, so
// that where the kernel holds the file in 2 MiB page-cache folios (ext4 and
// xfs on Linux 6.x, for data read sequentially or faulted in through this
// mapping) it is mapped with 2 MiB pages: one TLB entry and no page walk
// per 2 MiB of weights instead of per 4 KiB. Decoding streams every weight
// once per token, and on 4 KiB pages it reaches about half the memory
// bandwidth (BENCHMARKS.md). Prefault makes the pages resident.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: open: %w", err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: stat %s: %w", path, err)
	}
	size := st.Size()
	if size == 0 {
		return nil, fmt.Errorf("gguf: %s: empty file", path)
	}
	if int64(int(size)) != size || size > 1<<46 {
		return nil, fmt.Errorf("gguf: %s: %d bytes is too large to map", path, size)
	}
	span, mem, err := mapAligned(int(fd.Fd()), int(size))
	if err != nil {
		return nil, fmt.Errorf("gguf: mmap %s: %w", path, err)
	}
	// Best effort: EINVAL where transparent huge pages are compiled out.
	_ = unix.Madvise(mem, unix.MADV_HUGEPAGE)
	f, err := ParseBytes(mem)
	if err != nil {
		unix.Munmap(span)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.path = path
	f.close = func() error { return unix.Munmap(span) }
	return f, nil
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
