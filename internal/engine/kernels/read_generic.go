//go:build purego || !amd64

package kernels

import (
	"encoding/binary"
	"unsafe"
)

func readSum(n int, p *byte) uint64 {
	b := unsafe.Slice(p, n)
	var s0, s1, s2, s3 uint64
	for i := 0; i+32 <= n; i += 32 {
		s0 += binary.LittleEndian.Uint64(b[i:])
		s1 += binary.LittleEndian.Uint64(b[i+8:])
		s2 += binary.LittleEndian.Uint64(b[i+16:])
		s3 += binary.LittleEndian.Uint64(b[i+24:])
	}
	return s0 + s1 + s2 + s3
}

func readSum4(n int, p *byte) uint64 { return readSum(n, p) }
