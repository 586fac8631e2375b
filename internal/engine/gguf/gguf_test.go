package gguf

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"maas/internal/testdata"
)

// sampleKVs covers every value type, including nested arrays.
func sampleKVs() []KV {
	return []KV{
		{"general.architecture", String("phi3")},
		{"u8", Uint8(200)}, {"i8", Int8(-100)}, {"u16", Uint16(60000)}, {"i16", Int16(-30000)},
		{"u32", Uint32(4000000000)}, {"i32", Int32(-2000000000)}, {"u64", Uint64(1 << 63)},
		{"i64", Int64(-1 << 62)}, {"f32", Float32(1.5)}, {"f64", Float64(math.Pi)},
		{"b", Bool(true)}, {"s", String("héllo")},
		{"a.u8", Array([]uint8{1, 2, 3})}, {"a.i8", Array([]int8{-1, 2})},
		{"a.u16", Array([]uint16{7})}, {"a.i16", Array([]int16{-7})},
		{"a.u32", Array([]uint32{1, 1 << 31})}, {"a.i32", Array([]int32{-5, 5})},
		{"a.f32", Array([]float32{0.25, -2})}, {"a.b", Array([]bool{true, false})},
		{"a.s", Array([]string{"", "x", "yz"})}, {"a.u64", Array([]uint64{9})},
		{"a.i64", Array([]int64{-9})}, {"a.f64", Array([]float64{1e300})},
		{"a.empty", Array([]string{})},
		{"a.nested", Array([]Value{Array([]int32{1, 2}), Array([]Value{Array([]string{"deep"})})})},
	}
}

func sampleTensors() ([]TensorInfo, [][]byte) {
	ts := []TensorInfo{
		{Name: "a", Type: GGMLTypeF32, Dims: []uint64{3}},
		{Name: "b", Type: GGMLTypeF16, Dims: []uint64{4, 2}},
		{Name: "q", Type: GGMLTypeQ8_0, Dims: []uint64{32, 2}},
	}
	var data [][]byte
	for i, t := range ts {
		n, _ := TensorBytes(t.Type, t.Dims)
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(i*31 + j)
		}
		data = append(data, b)
	}
	return ts, data
}

func writeSample(t testing.TB, kvs []KV) []byte {
	t.Helper()
	ts, data := sampleTensors()
	var buf bytes.Buffer
	if err := Write(&buf, kvs, ts, data); err != nil {
		t.Fatalf("write: %v", err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	kvs := sampleKVs()
	b := writeSample(t, kvs)
	f, err := ParseBytes(b)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if f.Version != 3 || f.Alignment != DefaultAlignment || f.DataOffset%DefaultAlignment != 0 {
		t.Errorf("version %d alignment %d data offset %d", f.Version, f.Alignment, f.DataOffset)
	}
	if got := f.KVs(); !reflect.DeepEqual(got, kvs) {
		t.Errorf("metadata mismatch:\n got %v\nwant %v", got, kvs)
	}
	if s, ok := f.String("general.architecture"); !ok || s != "phi3" {
		t.Errorf("String = %q, %v", s, ok)
	}
	if x, ok := f.Uint("u32"); !ok || x != 4000000000 {
		t.Errorf("Uint(u32) = %d, %v", x, ok)
	}
	if _, ok := f.Uint("i32"); ok {
		t.Errorf("Uint accepted a negative value")
	}
	if x, ok := f.Int("i8"); !ok || x != -100 {
		t.Errorf("Int(i8) = %d, %v", x, ok)
	}
	if x, ok := f.Float("f32"); !ok || x != 1.5 {
		t.Errorf("Float(f32) = %v, %v", x, ok)
	}
	if s, ok := f.Strings("a.s"); !ok || !reflect.DeepEqual(s, []string{"", "x", "yz"}) {
		t.Errorf("Strings = %q, %v", s, ok)
	}
	if s, ok := f.Int32s("a.i32"); !ok || !reflect.DeepEqual(s, []int32{-5, 5}) {
		t.Errorf("Int32s = %v, %v", s, ok)
	}
	if _, err := f.RequireUint("s"); err == nil || !strings.Contains(err.Error(), `"s"`) {
		t.Errorf("RequireUint on a string: %v", err)
	}
	if _, err := f.RequireFloat("missing"); err == nil {
		t.Errorf("RequireFloat on a missing key succeeded")
	}
	ts, data := sampleTensors()
	if len(f.Tensors()) != len(ts) {
		t.Fatalf("%d tensors, want %d", len(f.Tensors()), len(ts))
	}
	for i, want := range ts {
		got, ok := f.Tensor(want.Name)
		if !ok || got.Type != want.Type || !reflect.DeepEqual(got.Dims, want.Dims) || got.Offset%f.Alignment != 0 {
			t.Errorf("tensor %d = %+v", i, got)
		}
		d, err := f.Data(got)
		if err != nil || !bytes.Equal(d, data[i]) {
			t.Errorf("tensor %q data = %v, %v", want.Name, d, err)
		}
	}
	// Version 2 has the same layout for little-endian files.
	v2 := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(v2[4:], 2)
	if f2, err := ParseBytes(v2); err != nil || f2.Version != 2 || len(f2.KVs()) != len(kvs) {
		t.Errorf("version 2: %v", err)
	}
	// The same through the io.ReaderAt path.
	f2, err := Parse(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	d, err := f2.Data(f2.Tensors()[2])
	if err != nil || !bytes.Equal(d, data[2]) {
		t.Errorf("ReaderAt data = %v, %v", d, err)
	}
}

func TestCustomAlignment(t *testing.T) {
	kvs := []KV{{"general.alignment", Uint32(64)}}
	b := writeSample(t, kvs)
	f, err := ParseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Alignment != 64 || f.DataOffset%64 != 0 {
		t.Fatalf("alignment %d data offset %d", f.Alignment, f.DataOffset)
	}
	for _, ti := range f.Tensors() {
		if ti.Offset%64 != 0 {
			t.Errorf("tensor %q offset %d", ti.Name, ti.Offset)
		}
	}
}

func TestOpenMapped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.gguf")
	if err := os.WriteFile(path, writeSample(t, sampleKVs()), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, data := sampleTensors()
	d, err := f.Data(f.Tensors()[1])
	if err != nil || !bytes.Equal(d, data[1]) {
		t.Errorf("data = %v, %v", d, err)
	}
}

// TestTruncated checks that every prefix of a valid file that cuts into the
// header or tensor data is rejected (only trailing padding may go).
func TestTruncated(t *testing.T) {
	b := writeSample(t, sampleKVs())
	f, err := ParseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	last := f.Tensors()[len(f.Tensors())-1]
	end := int(f.DataOffset) + int(last.Offset+last.Size)
	if _, err := ParseBytes(b[:end]); err != nil {
		t.Errorf("file without trailing padding: %v", err)
	}
	for n := 0; n < end; n++ {
		if _, err := ParseBytes(b[:n]); err == nil {
			t.Fatalf("prefix of %d/%d bytes parsed without error", n, len(b))
		}
	}
}

func TestHostile(t *testing.T) {
	hdr := func(version uint32, nT, nKV uint64) []byte {
		b := []byte("GGUF")
		b = binary.LittleEndian.AppendUint32(b, version)
		b = binary.LittleEndian.AppendUint64(b, nT)
		return binary.LittleEndian.AppendUint64(b, nKV)
	}
	str := func(b []byte, s string) []byte {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
		return append(b, s...)
	}
	kv := func(key string, typ uint32, payload ...byte) []byte {
		b := str(hdr(3, 0, 1), key)
		b = binary.LittleEndian.AppendUint32(b, typ)
		return append(b, payload...)
	}
	u64 := func(x uint64) []byte { return binary.LittleEndian.AppendUint64(nil, x) }
	u32 := func(x uint32) []byte { return binary.LittleEndian.AppendUint32(nil, x) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tensor := func(name string, dims []uint64, typ uint32, off uint64) []byte {
		b := str(hdr(3, 1, 0), name)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(dims)))
		for _, d := range dims {
			b = binary.LittleEndian.AppendUint64(b, d)
		}
		b = binary.LittleEndian.AppendUint32(b, typ)
		return binary.LittleEndian.AppendUint64(b, off)
	}
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "magic"},
		{"bad magic", []byte("GGML\x03\x00\x00\x00"), "bad magic"},
		{"version 1", hdr(1, 0, 0), "version 1"},
		{"version 99", hdr(99, 0, 0), "unsupported version"},
		{"big endian", hdr(0x03000000, 0, 0), "big-endian"},
		{"huge kv count", hdr(3, 0, 1<<62), "metadata count"},
		{"huge tensor count", hdr(3, 1<<62, 0), "tensor count"},
		{"huge string", kv("k", uint32(TypeString), u64(1<<40)...), "string length"},
		{"huge key", cat(hdr(3, 0, 1), u64(1<<60), []byte("abcdefgh")), "string length"},
		{"unknown type", kv("k", 77, 0, 0, 0, 0), "unknown value type"},
		{"huge array", kv("k", uint32(TypeArray), cat(u32(uint32(TypeUint32)), u64(1<<61))...), "cannot fit"},
		{"array of unknown", kv("k", uint32(TypeArray), cat(u32(99), u64(1))...), "unknown element type"},
		{"bad bool", kv("k", uint32(TypeBool), 7), "neither 0 nor 1"},
		{"alignment type", kv("general.alignment", uint32(TypeString), cat(u64(1), []byte("x"))...), "general.alignment"},
		{"alignment zero", kv("general.alignment", uint32(TypeUint32), u32(0)...), "power of two"},
		{"alignment odd", kv("general.alignment", uint32(TypeUint32), u32(24)...), "power of two"},
		{"architecture type", kv("general.architecture", uint32(TypeUint32), u32(3)...), "general.architecture"},
		{"too many dims", cat(tensor("t", []uint64{1, 1, 1, 1, 1}, 0, 0), make([]byte, 64)), "dimensions"},
		{"overflow dims", cat(tensor("t", []uint64{1 << 40, 1 << 40}, 0, 0), make([]byte, 64)), "overflow"},
		{"unknown tensor type", cat(tensor("t", []uint64{4}, 200, 0), make([]byte, 64)), "unknown ggml type"},
		{"block multiple", cat(tensor("t", []uint64{33}, uint32(GGMLTypeQ8_0), 0), make([]byte, 64)), "block size"},
		{"misaligned offset", cat(tensor("t", []uint64{1}, 0, 3), make([]byte, 64)), "alignment"},
		{"data past end", cat(tensor("t", []uint64{1 << 20}, 0, 0), make([]byte, 64)), "past the end"},
		{"offset past end", cat(tensor("t", []uint64{1}, 0, 1<<50), make([]byte, 64)), "past the end"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseBytes(c.in)
			if err == nil {
				t.Fatalf("parsed without error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestDeepNesting(t *testing.T) {
	v := Array([]int32{1})
	for range maxArrayDepth + 1 {
		v = Array([]Value{v})
	}
	var buf bytes.Buffer
	if err := Write(&buf, []KV{{"deep", v}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseBytes(buf.Bytes()); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Fatalf("deep nesting: %v", err)
	}
}

func TestWriterErrors(t *testing.T) {
	ts, data := sampleTensors()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, nil, ts)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTensor("b", data[1]); err == nil {
		t.Errorf("out-of-order tensor accepted")
	}
	if err := w.WriteTensor("a", data[0][:1]); err == nil {
		t.Errorf("short tensor accepted")
	}
	if err := w.WriteTensor("a", data[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil {
		t.Errorf("Close with missing tensors succeeded")
	}
	if _, err := NewWriter(&buf, []KV{{"x", Bool(true)}, {"x", Bool(false)}}, nil); err == nil {
		t.Errorf("duplicate key accepted")
	}
	if _, err := NewWriter(&buf, nil, []TensorInfo{{Name: "q", Type: GGMLTypeQ4_K, Dims: []uint64{100}}}); err == nil {
		t.Errorf("Q4_K tensor with ne[0]=100 accepted")
	}
}

func TestWriteTensorFunc(t *testing.T) {
	ts, data := sampleTensors()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, nil, ts)
	if err != nil {
		t.Fatal(err)
	}
	for i, ti := range ts {
		err := w.WriteTensorFunc(ti.Name, func(out io.Writer) error {
			for j := range data[i] { // one byte at a time
				if _, err := out.Write(data[i][j : j+1]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if want := writeSample(t, nil); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("chunked write differs from Write")
	}
	w, _ = NewWriter(&buf, nil, ts)
	if err := w.WriteTensorFunc("a", func(out io.Writer) error { _, err := out.Write([]byte{1}); return err }); err == nil {
		t.Errorf("short chunked tensor accepted")
	}
	w, _ = NewWriter(&buf, nil, ts)
	if err := w.WriteTensorFunc("a", func(out io.Writer) error { _, err := out.Write(make([]byte, 100)); return err }); err == nil {
		t.Errorf("long chunked tensor accepted")
	}
}

func TestTensorBytes(t *testing.T) {
	cases := []struct {
		typ  uint32
		dims []uint64
		want uint64
	}{
		{GGMLTypeF32, []uint64{256, 3}, 3072},
		{GGMLTypeF16, []uint64{256}, 512},
		{GGMLTypeBF16, []uint64{2, 2}, 8},
		{GGMLTypeQ4_0, []uint64{64}, 36},
		{GGMLTypeQ4_1, []uint64{32}, 20},
		{GGMLTypeQ5_0, []uint64{32}, 22},
		{GGMLTypeQ5_1, []uint64{32}, 24},
		{GGMLTypeQ8_0, []uint64{32, 10}, 340},
		{GGMLTypeQ4_K, []uint64{256, 2}, 288},
		{GGMLTypeQ5_K, []uint64{256}, 176},
		{GGMLTypeQ6_K, []uint64{512}, 420},
		{GGMLTypeQ8_K, []uint64{256}, 292},
	}
	for _, c := range cases {
		got, err := TensorBytes(c.typ, c.dims)
		if err != nil || got != c.want {
			t.Errorf("TensorBytes(%s, %v) = %d, %v; want %d", TypeName(c.typ), c.dims, got, err, c.want)
		}
	}
}

// TestFixtures reads the shared Phi-3 files: the vocabulary and both tiny models.
func TestFixtures(t *testing.T) {
	f, err := Open(testdata.Phi3File(t, "vocab-phi3.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	toks, ok := f.Strings("tokenizer.ggml.tokens")
	if !ok || len(toks) != 32064 || toks[15043] != "▁Hello" {
		t.Errorf("tokens: %d entries, ok=%v", len(toks), ok)
	}
	if s, ok := f.Float32s("tokenizer.ggml.scores"); !ok || len(s) != 32064 {
		t.Errorf("scores: %d, %v", len(s), ok)
	}
	if s, ok := f.Int32s("tokenizer.ggml.token_type"); !ok || len(s) != 32064 || s[32011] != 2 {
		t.Errorf("token_type: %d, %v", len(s), ok)
	}
	for _, name := range []string{"tiny-phi3-f16.gguf", "tiny-phi3-q4_k_m.gguf"} {
		m, err := Open(testdata.Phi3File(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ti, ok := m.Tensor("blk.1.ffn_down.weight")
		if !ok || !reflect.DeepEqual(ti.Dims, []uint64{512, 256}) {
			t.Errorf("%s: ffn_down %+v", name, ti)
		}
		var total uint64
		for _, ti := range m.Tensors() {
			d, err := m.Data(ti)
			if err != nil || uint64(len(d)) != ti.Size {
				t.Errorf("%s: tensor %q: %v", name, ti.Name, err)
			}
			total += ti.Size
		}
		if n, _ := m.Uint("phi3.block_count"); n != 2 {
			t.Errorf("%s: block_count %d", name, n)
		}
		if int64(total) > m.Size() {
			t.Errorf("%s: tensors total %d bytes > file %d", name, total, m.Size())
		}
		m.Close()
	}
}
