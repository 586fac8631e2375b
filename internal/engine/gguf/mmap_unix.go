//go:build unix

package gguf

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Open maps the file at path read-only and parses it. Tensor data returned
// by Data points into the mapping until Close. How the file is mapped is up
// to mapFile (mmap_linux.go: 2 MiB-aligned, for huge pages).
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
	span, mem, err := mapFile(int(fd.Fd()), int(size))
	if err != nil {
		return nil, fmt.Errorf("gguf: mmap %s: %w", path, err)
	}
	f, err := ParseBytes(mem)
	if err != nil {
		unix.Munmap(span)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.path = path
	f.close = func() error { return unix.Munmap(span) }
	return f, nil
}
