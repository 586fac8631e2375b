package gguf

import "fmt"

// PageStats describes how the memory of a file mapped by Open is backed.
type PageStats struct {
	Mapped   int64 // bytes mapped (the file size)
	Resident int64 // bytes resident in the mapping
	Huge     int64 // bytes mapped with 2 MiB pages
	Relaid   bool  // the file's page cache was dropped and read again for 2 MiB pages
}

// HugeFraction is Huge/Mapped in [0, 1].
func (s PageStats) HugeFraction() float64 {
	if s.Mapped <= 0 {
		return 0
	}
	return float64(s.Huge) / float64(s.Mapped)
}

func (s PageStats) String() string {
	r := ""
	if s.Relaid {
		r = ", page cache read again"
	}
	return fmt.Sprintf("%.2f GB mapped, %.0f%% resident, %.0f%% on 2 MiB pages%s",
		float64(s.Mapped)/1e9, 100*float64(s.Resident)/float64(max(s.Mapped, 1)), 100*s.HugeFraction(), r)
}

// minRelayout is the smallest file whose page cache Prefault re-reads for 2
// MiB pages: below it the 4 KiB page walks cost little.
const minRelayout = 64 << 20
