package kernels

import (
	"encoding/binary"
	"testing"
)

// readSum and readSum4 (the read-bandwidth benchmark's loops) add every
// word once.
func TestReadSums(t *testing.T) {
	buf := make([]byte, 4096)
	var want uint64
	for i := range buf {
		buf[i] = byte(i*7 + i>>8)
	}
	for i := 0; i < len(buf); i += 8 {
		want += binary.LittleEndian.Uint64(buf[i:])
	}
	if got := readSum(len(buf), &buf[0]); got != want {
		t.Errorf("readSum = %d, want %d", got, want)
	}
	if got := readSum4(len(buf), &buf[0]); got != want {
		t.Errorf("readSum4 = %d, want %d", got, want)
	}
}
