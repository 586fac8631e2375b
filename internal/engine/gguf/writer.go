package gguf

import (
	"bufio"
	"encoding/binary"

	"fmt"
	"io"
	"math"
)

// Writer writes a version-3 GGUF file in one pass: the header, metadata and
// tensor infos when created, then each tensor's data in the order given,
// padded to the alignment. Only one tensor's bytes are held at a time, so
// multi-gigabyte files stream.
type Writer struct {
	w       *bufio.Writer
	tensors []TensorInfo
	align   uint64
	next    int    // index of the next tensor to write
	n       uint64 // bytes written so far
	err     error
}

// NewWriter writes the header of a file with the given metadata and tensors
// (Name, Type and Dims are used; Offset and Size are computed) and returns a
// Writer expecting the tensor data. The alignment is general.alignment when
// kvs sets it, else DefaultAlignment.
func NewWriter(w io.Writer, kvs []KV, tensors []TensorInfo) (*Writer, error) {
	gw := &Writer{w: bufio.NewWriterSize(w, 1<<20), align: DefaultAlignment}
	seen := make(map[string]bool, len(kvs))
	for _, kv := range kvs {
		if seen[kv.Key] {
			return nil, fmt.Errorf("gguf: write: duplicate metadata key %q", kv.Key)
		}
		seen[kv.Key] = true
		if kv.Key == "general.alignment" {
			a, ok := kv.Value.Uint()
			if !ok || kv.Value.Type != TypeUint32 || a == 0 || a&(a-1) != 0 || a > maxAlignment {
				return nil, fmt.Errorf("gguf: write: general.alignment must be a uint32 power of two, got %s %v", kv.Value.Type, kv.Value)
			}
			gw.align = a
		}
	}
	gw.tensors = make([]TensorInfo, len(tensors))
	names := make(map[string]bool, len(tensors))
	off := uint64(0)
	for i, t := range tensors {
		if names[t.Name] {
			return nil, fmt.Errorf("gguf: write: duplicate tensor name %q", t.Name)
		}
		names[t.Name] = true
		if len(t.Dims) == 0 || len(t.Dims) > maxDims {
			return nil, fmt.Errorf("gguf: write: tensor %q has %d dims, want 1..%d", t.Name, len(t.Dims), maxDims)
		}
		size, err := TensorBytes(t.Type, t.Dims)
		if err != nil {
			return nil, fmt.Errorf("gguf: write: tensor %q: %w", t.Name, err)
		}
		t.Dims = append([]uint64(nil), t.Dims...)
		t.Offset, t.Size = off, size
		gw.tensors[i] = t
		off = alignUp(off+size, gw.align)
	}
	gw.header(kvs)
	if gw.err != nil {
		return nil, gw.err
	}
	return gw, nil
}

// Tensors returns the tensor infos with their computed offsets and sizes.
func (w *Writer) Tensors() []TensorInfo { return w.tensors }

// WriteTensor writes the data of the next tensor; name must match it and
// data must have exactly its size.
func (w *Writer) WriteTensor(name string, data []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.next >= len(w.tensors) {
		return fmt.Errorf("gguf: write tensor %q: all %d tensors already written", name, len(w.tensors))
	}
	t := w.tensors[w.next]
	if t.Name != name {
		return fmt.Errorf("gguf: write tensor %q: expected tensor %q next", name, t.Name)
	}
	if uint64(len(data)) != t.Size {
		return fmt.Errorf("gguf: write tensor %q: %d bytes, want %d (%s %v)", name, len(data), t.Size, t.TypeName(), t.Dims)
	}
	w.bytes(data)
	w.pad()
	w.next++
	return w.err
}

// WriteTensorFunc writes the data of the next tensor by calling fill with a
// writer that accepts exactly the tensor's size in bytes, in any number of
// writes, so a large tensor can be produced in chunks.
func (w *Writer) WriteTensorFunc(name string, fill func(io.Writer) error) error {
	if w.err != nil {
		return w.err
	}
	if w.next >= len(w.tensors) {
		return fmt.Errorf("gguf: write tensor %q: all %d tensors already written", name, len(w.tensors))
	}
	t := w.tensors[w.next]
	if t.Name != name {
		return fmt.Errorf("gguf: write tensor %q: expected tensor %q next", name, t.Name)
	}
	cw := &countWriter{w: w, left: t.Size}
	if err := fill(cw); err != nil {
		w.fail(fmt.Errorf("gguf: write tensor %q: %w", name, err))
		return w.err
	}
	if cw.left != 0 {
		w.fail(fmt.Errorf("gguf: write tensor %q: %d of %d bytes written", name, t.Size-cw.left, t.Size))
		return w.err
	}
	w.pad()
	w.next++
	return w.err
}

// countWriter passes at most left bytes to the Writer.
type countWriter struct {
	w    *Writer
	left uint64
}

func (c *countWriter) Write(p []byte) (int, error) {
	if uint64(len(p)) > c.left {
		return 0, fmt.Errorf("%d bytes more than the tensor's size", uint64(len(p))-c.left)
	}
	c.w.bytes(p)
	if c.w.err != nil {
		return 0, c.w.err
	}
	c.left -= uint64(len(p))
	return len(p), nil
}

// Close flushes the file; it fails if some tensor was not written. It does
// not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.next != len(w.tensors) {
		return fmt.Errorf("gguf: write: %d of %d tensors written; next is %q", w.next, len(w.tensors), w.tensors[w.next].Name)
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("gguf: write: %w", err)
	}
	return nil
}

// Write writes a complete file; data[i] holds the bytes of tensors[i].
func Write(w io.Writer, kvs []KV, tensors []TensorInfo, data [][]byte) error {
	if len(data) != len(tensors) {
		return fmt.Errorf("gguf: write: %d tensors but %d data buffers", len(tensors), len(data))
	}
	gw, err := NewWriter(w, kvs, tensors)
	if err != nil {
		return err
	}
	for i, t := range tensors {
		if err := gw.WriteTensor(t.Name, data[i]); err != nil {
			return err
		}
	}
	return gw.Close()
}

func (w *Writer) header(kvs []KV) {
	w.bytes([]byte(Magic))
	w.u32(3)
	w.u64(uint64(len(w.tensors)))
	w.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		w.str(kv.Key)
		w.u32(uint32(kv.Value.Type))
		if err := w.value(kv.Value); err != nil {
			w.fail(fmt.Errorf("gguf: write key %q: %w", kv.Key, err))
			return
		}
	}
	for _, t := range w.tensors {
		w.str(t.Name)
		w.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			w.u64(d)
		}
		w.u32(t.Type)
		w.u64(t.Offset)
	}
	w.pad()
}

func (w *Writer) value(v Value) error {
	switch v.Type {
	case TypeUint8, TypeUint16, TypeUint32, TypeUint64:
		x, ok := v.v.(uint64)
		if !ok {
			return fmt.Errorf("value of type %s holds %T", v.Type, v.v)
		}
		w.scalar(v.Type, x)
	case TypeInt8, TypeInt16, TypeInt32, TypeInt64:
		x, ok := v.v.(int64)
		if !ok {
			return fmt.Errorf("value of type %s holds %T", v.Type, v.v)
		}
		w.scalar(v.Type, uint64(x))
	case TypeFloat32:
		x, ok := v.v.(float64)
		if !ok {
			return fmt.Errorf("value of type %s holds %T", v.Type, v.v)
		}
		w.u32(math.Float32bits(float32(x)))
	case TypeFloat64:
		x, ok := v.v.(float64)
		if !ok {
			return fmt.Errorf("value of type %s holds %T", v.Type, v.v)
		}
		w.u64(math.Float64bits(x))
	case TypeBool:
		x, ok := v.v.(bool)
		if !ok {
			return fmt.Errorf("value of type %s holds %T", v.Type, v.v)
		}
		w.bool(x)
	case TypeString:
		x, ok := v.v.(string)
		if !ok {
			return fmt.Errorf("value of type %s holds %T", v.Type, v.v)
		}
		w.str(x)
	case TypeArray:
		return w.array(v)
	default:
		return fmt.Errorf("unknown value type %d", uint32(v.Type))
	}
	return nil
}

func (w *Writer) array(v Value) error {
	w.u32(uint32(v.Elem))
	w.u64(uint64(v.Len()))
	switch s := v.v.(type) {
	case []uint8:
		w.bytes(s)
	case []int8:
		for _, x := range s {
			w.bytes([]byte{byte(x)})
		}
	case []uint16:
		for _, x := range s {
			w.scalar(TypeUint16, uint64(x))
		}
	case []int16:
		for _, x := range s {
			w.scalar(TypeInt16, uint64(x))
		}
	case []uint32:
		for _, x := range s {
			w.u32(x)
		}
	case []int32:
		for _, x := range s {
			w.u32(uint32(x))
		}
	case []float32:
		for _, x := range s {
			w.u32(math.Float32bits(x))
		}
	case []bool:
		for _, x := range s {
			w.bool(x)
		}
	case []string:
		for _, x := range s {
			w.str(x)
		}
	case []uint64:
		for _, x := range s {
			w.u64(x)
		}
	case []int64:
		for _, x := range s {
			w.u64(uint64(x))
		}
	case []float64:
		for _, x := range s {
			w.u64(math.Float64bits(x))
		}
	case []Value:
		for i, x := range s {
			if x.Type != TypeArray {
				return fmt.Errorf("nested array element %d is a %s, not an array", i, x.Type)
			}
			if err := w.array(x); err != nil {
				return fmt.Errorf("nested array element %d: %w", i, err)
			}
		}
	default:
		return fmt.Errorf("array holds %T", v.v)
	}
	return nil
}

func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *Writer) bytes(b []byte) {
	if w.err != nil {
		return
	}
	if _, err := w.w.Write(b); err != nil {
		w.fail(fmt.Errorf("gguf: write: %w", err))
	}
	w.n += uint64(len(b))
}

// pad writes zeros up to the next multiple of the alignment. The data
// section starts aligned, so aligning the file offset aligns data offsets.
func (w *Writer) pad() {
	var zeros [64]byte
	for rem := alignUp(w.n, w.align) - w.n; rem > 0; {
		k := min(rem, uint64(len(zeros)))
		w.bytes(zeros[:k])
		rem -= k
	}
}

func (w *Writer) u32(x uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], x)
	w.bytes(b[:])
}

func (w *Writer) u64(x uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x)
	w.bytes(b[:])
}

func (w *Writer) bool(x bool) {
	b := byte(0)
	if x {
		b = 1
	}
	w.bytes([]byte{b})
}

func (w *Writer) str(s string) {
	w.u64(uint64(len(s)))
	w.bytes([]byte(s))
}

// scalar writes the low bytes of x for an integer type.
func (w *Writer) scalar(t ValueType, x uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x)
	w.bytes(b[:t.fixedSize()])
}
