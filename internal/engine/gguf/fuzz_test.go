package gguf

import (
	"bytes"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the parser: it must return a File or an
// error, never panic, and every tensor of a parsed file must be readable.
// The committed corpus in testdata/fuzz/FuzzParse holds small valid files.
func FuzzParse(f *testing.F) {
	f.Add(writeSample(f, sampleKVs()))
	f.Add(writeSample(f, []KV{{"general.alignment", Uint32(64)}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		pf, err := ParseBytes(b)
		if err != nil {
			return
		}
		for _, ti := range pf.Tensors() {
			d, err := pf.Data(ti)
			if err != nil {
				t.Fatalf("tensor %q of a parsed file unreadable: %v", ti.Name, err)
			}
			if uint64(len(d)) != ti.Size {
				t.Fatalf("tensor %q: %d bytes, want %d", ti.Name, len(d), ti.Size)
			}
		}
		// A parsed file re-written and re-parsed keeps its metadata.
		var buf bytes.Buffer
		ts := pf.Tensors()
		data := make([][]byte, len(ts))
		for i, ti := range ts {
			data[i], _ = pf.Data(ti)
		}
		if err := Write(&buf, pf.KVs(), ts, data); err != nil {
			return // e.g. zero-dim tensors the writer refuses
		}
		if _, err := ParseBytes(buf.Bytes()); err != nil {
			t.Fatalf("re-written file does not parse: %v", err)
		}
	})
}
