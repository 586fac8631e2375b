//go:build !linux

package gguf

// Prefault reports the mapping; only Linux maps with huge pages, so there is
// nothing to fault in or re-read here.
func (f *File) Prefault(relayout bool) (PageStats, error) {
	return PageStats{Mapped: f.size}, nil
}
