//go:build unix && !linux

package gguf

import "golang.org/x/sys/unix"

// mapFile maps size bytes of fd read-only; span (what Munmap releases) is
// the mapping itself.
func mapFile(fd, size int) (span, mem []byte, err error) {
	mem, err = unix.Mmap(fd, 0, size, unix.PROT_READ, unix.MAP_SHARED)
	return mem, mem, err
}
