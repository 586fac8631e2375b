//go:build linux

package gguf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Prefault makes the whole mapping resident (reading what is not cached)
// and reports how it is backed. With relayout, a file of 64 MiB or more
// that ends up mostly on 4 KiB pages (its page cache was filled by small
// writes, e.g. right after a download) has its page cache dropped and read
// again through the MADV_HUGEPAGE mapping, which the kernel fills with 2
// MiB folios where the filesystem supports them. That costs one read of the
// file from disk; pages other processes have mapped are not dropped.
func (f *File) Prefault(relayout bool) (PageStats, error) {
	st := PageStats{Mapped: f.size}
	if f.close == nil || len(f.mem) == 0 {
		return st, nil // parsed from bytes: nothing mapped
	}
	if err := populate(f.mem); err != nil {
		return st, fmt.Errorf("gguf: prefault %s: %w", f.path, err)
	}
	st, err := f.pageStats()
	if err != nil || !relayout || f.size < minRelayout || 2*st.Huge >= st.Mapped || !thpEnabled() {
		return st, err
	}
	if err := f.dropPageCache(); err != nil {
		return st, fmt.Errorf("gguf: re-read %s for huge pages: %w", f.path, err)
	}
	if err := populate(f.mem); err != nil {
		return st, fmt.Errorf("gguf: prefault %s: %w", f.path, err)
	}
	st, err = f.pageStats()
	st.Relaid = true
	return st, err
}

// populate faults every page of mem in (MADV_POPULATE_READ, Linux 5.14;
// one read per 4 KiB on older kernels).
func populate(mem []byte) error {
	err := unix.Madvise(mem, unix.MADV_POPULATE_READ)
	if !errors.Is(err, unix.EINVAL) {
		return err
	}
	var s byte
	for i := 0; i < len(mem); i += 4096 {
		s += mem[i]
	}
	runtime.KeepAlive(s) // the loads are the point: keep them
	return nil
}

// dropPageCache unmaps this mapping's pages and drops the file's clean,
// unmapped page cache (after writing back dirty pages).
func (f *File) dropPageCache() error {
	fd, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer fd.Close()
	if err := unix.Fdatasync(int(fd.Fd())); err != nil {
		return fmt.Errorf("write back: %w", err)
	}
	if err := unix.Madvise(f.mem, unix.MADV_DONTNEED); err != nil {
		return fmt.Errorf("unmap pages: %w", err)
	}
	if err := unix.Fadvise(int(fd.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("drop page cache: %w", err)
	}
	return nil
}

// pageStats reads this mapping's Rss and FilePmdMapped from /proc/self/smaps.
func (f *File) pageStats() (PageStats, error) {
	st := PageStats{Mapped: f.size}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return st, fmt.Errorf("gguf: read smaps: %w", err)
	}
	start := uint64(uintptr(unsafe.Pointer(&f.mem[0])))
	rss, huge, ok := smapsEntry(b, start)
	if !ok {
		return st, fmt.Errorf("gguf: no mapping at %#x in /proc/self/smaps", start)
	}
	st.Resident, st.Huge = min(rss, f.size), min(huge, f.size)
	return st, nil
}

// smapsEntry finds the mapping that starts at start in smaps text and
// returns its Rss and FilePmdMapped in bytes.
func smapsEntry(smaps []byte, start uint64) (rss, huge int64, ok bool) {
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	in := false
	for sc.Scan() {
		line := sc.Text()
		field, rest, _ := strings.Cut(line, " ")
		if lo, _, isRange := strings.Cut(field, "-"); isRange && !strings.HasSuffix(field, ":") {
			if in {
				return rss, huge, true
			}
			a, err := strconv.ParseUint(lo, 16, 64)
			in = err == nil && a == start
			continue
		}
		if !in {
			continue
		}
		var dst *int64
		switch field {
		case "Rss:":
			dst = &rss
		case "FilePmdMapped:":
			dst = &huge
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err == nil {
			*dst = kb << 10
		}
	}
	return rss, huge, in
}

// thpEnabled reports whether transparent huge pages may be used for a
// MADV_HUGEPAGE mapping ("always" or "madvise").
func thpEnabled() bool {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	return err == nil && !bytes.Contains(b, []byte("[never]"))
}
