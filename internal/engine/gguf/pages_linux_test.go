//go:build linux

package gguf

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unsafe"
)

func TestSmapsEntry(t *testing.T) {
	smaps := []byte(`55d0c0000000-55d0c0021000 r--p 00000000 fd:00 123 /usr/bin/x
Rss:                 100 kB
FilePmdMapped:         0 kB
7f0d43c00000-7f0d45c00000 r--s 00000000 fd:00 456 /tmp/m.gguf
Size:              32768 kB
Rss:               30720 kB
Pss:               30720 kB
FilePmdMapped:     28672 kB
VmFlags: rd sh mr mw me ms hg
7f0d45c00000-7f0d45e00000 ---p 00000000 00:00 0
Rss:                   0 kB
`)
	rss, huge, ok := smapsEntry(smaps, 0x7f0d43c00000)
	if !ok || rss != 30720<<10 || huge != 28672<<10 {
		t.Errorf("got rss %d huge %d ok %v", rss, huge, ok)
	}
	if _, _, ok := smapsEntry(smaps, 0x7f0d43c01000); ok {
		t.Errorf("found a mapping at an address inside another")
	}
}

// A mapped file is 2 MiB-aligned; Prefault makes it resident and, when it
// drops and re-reads the page cache, the bytes read through the mapping are
// still the file's.
func TestOpenAlignedPrefault(t *testing.T) {
	n := uint64(minRelayout+3<<20) / 4
	ts := []TensorInfo{{Name: "w", Type: GGMLTypeF32, Dims: []uint64{n}}}
	path := filepath.Join(t.TempDir(), "big.gguf")
	fd, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(fd, 4096) // small writes: small page-cache folios
	w, err := NewWriter(bw, nil, ts)
	if err != nil {
		t.Fatal(err)
	}
	pattern := func(i int) byte { return byte(i*131 + i>>16) }
	chunk := make([]byte, 1<<16)
	err = w.WriteTensorFunc("w", func(out io.Writer) error {
		for off := 0; off < int(4*n); off += len(chunk) {
			m := min(len(chunk), int(4*n)-off)
			for j := range m {
				chunk[j] = pattern(off + j)
			}
			if _, err := out.Write(chunk[:m]); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = w.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = fd.Close()
	}
	if err != nil {
		t.Fatal(err)
	}

	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if a := uintptr(unsafe.Pointer(&f.mem[0])); a%hugePage != 0 {
		t.Errorf("mapping at %#x, not 2 MiB-aligned", a)
	}
	st, err := f.Prefault(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", st)
	if st.Mapped != f.Size() || st.Resident < f.Size()-4096 {
		t.Errorf("after Prefault: %+v, want %d bytes mapped and resident", st, f.Size())
	}
	if st.Huge < 0 || st.Huge > st.Mapped {
		t.Errorf("huge bytes %d out of range", st.Huge)
	}
	data, err := f.Data(ts[0])
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(data); i += 4093 {
		if data[i] != pattern(i) {
			t.Fatalf("byte %d = %d after Prefault, want %d", i, data[i], pattern(i))
		}
	}
	if st2, err := f.Prefault(false); err != nil || st2.Relaid {
		t.Errorf("Prefault(false) = %+v, %v; want no re-read", st2, err)
	}
}
