package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the tensor data alignment when general.alignment is absent.
const DefaultAlignment = 32

const (
	maxDims       = 4       // GGML_MAX_DIMS
	maxArrayDepth = 8       // nesting limit for arrays of arrays
	maxAlignment  = 1 << 24 // sanity bound for general.alignment
	// minTensorInfo is the smallest encoding of one tensor info: name length,
	// dim count, type and offset.
	minTensorInfo = 8 + 4 + 4 + 8
)

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name   string
	Type   uint32   // ggml type id (GGMLTypeF32, ...)
	Dims   []uint64 // ggml order: Dims[0] (ne[0]) is the contiguous dimension
	Offset uint64   // byte offset inside the data section (a multiple of the alignment)
	Size   uint64   // byte size of the data
}

// Elements returns the number of elements of the tensor.
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// TypeName returns the ggml name of the tensor's type.
func (t TensorInfo) TypeName() string { return TypeName(t.Type) }

// File is a parsed GGUF file. Metadata and tensor infos live in the Go heap;
// tensor data stays in the mapping (or the caller's reader) until Data is
// called. A File is safe for concurrent readers.
type File struct {
	Version    uint32
	Alignment  uint64 // tensor data alignment in bytes
	DataOffset int64  // file offset of the data section

	kvs     []KV
	kvIndex map[string]int
	tensors []TensorInfo
	tIndex  map[string]int

	mem   []byte      // whole file when mapped or given as bytes; nil otherwise
	ra    io.ReaderAt // source when mem is nil
	size  int64
	close func() error
	path  string // set by Open: Prefault reopens it to drop the page cache
}

// ParseBytes parses a GGUF file held in memory. Data returns sub-slices of b.
func ParseBytes(b []byte) (*File, error) {
	f, err := parse(&byteReaderAt{b}, int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f.mem = b
	return f, nil
}

// Parse parses a GGUF file of the given size read through r. Data reads
// tensor bytes from r on each call.
func Parse(r io.ReaderAt, size int64) (*File, error) {
	f, err := parse(r, size)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f.ra = r
	return f, nil
}

// Close releases the mapping of a file returned by Open. Slices returned by
// Data must not be used afterwards. Close is a no-op for parsed files.
func (f *File) Close() error {
	if f.close == nil {
		return nil
	}
	c := f.close
	f.close = nil
	f.mem = nil
	return c()
}

// Size returns the file size in bytes.
func (f *File) Size() int64 { return f.size }

// Data returns the bytes of tensor t. For a mapped or in-memory file this is a
// view into the file (read-only: writing to it faults for a mapped file).
func (f *File) Data(t TensorInfo) ([]byte, error) {
	start := uint64(f.DataOffset) + t.Offset
	if t.Offset > uint64(f.size) || start < t.Offset || start > uint64(f.size) || t.Size > uint64(f.size)-start {
		return nil, fmt.Errorf("gguf: tensor %q: data [%d, +%d) past the end of the %d-byte file", t.Name, start, t.Size, f.size)
	}
	if f.mem != nil {
		end := start + t.Size
		return f.mem[start:end:end], nil
	}
	if f.ra == nil {
		return nil, fmt.Errorf("gguf: tensor %q: file is closed", t.Name)
	}
	buf := make([]byte, t.Size)
	if _, err := f.ra.ReadAt(buf, int64(start)); err != nil && !(errors.Is(err, io.EOF) && t.Size == 0) {
		return nil, fmt.Errorf("gguf: read tensor %q: %w", t.Name, err)
	}
	return buf, nil
}

// Tensors returns the tensor infos in file order. The slice is shared; do not modify it.
func (f *File) Tensors() []TensorInfo { return f.tensors }

// Tensor looks a tensor up by name.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.tIndex[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.tensors[i], true
}

// byteReaderAt is a minimal io.ReaderAt over a byte slice.
type byteReaderAt struct{ b []byte }

func (r *byteReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(r.b)) {
		return 0, io.EOF
	}
	n := copy(p, r.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// decoder reads little-endian GGUF values, tracking the byte offset and
// bounding every length by the bytes that remain.
type decoder struct {
	r    *bufio.Reader
	off  int64
	size int64
	tmp  [8]byte
}

func (d *decoder) remaining() int64 { return d.size - d.off }

func (d *decoder) errf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: %s", d.off, fmt.Sprintf(format, args...))
}

func (d *decoder) read(n int) ([]byte, error) {
	if int64(n) > d.remaining() {
		return nil, d.errf("need %d bytes, %d left (truncated file)", n, d.remaining())
	}
	b := d.tmp[:n]
	if _, err := io.ReadFull(d.r, b); err != nil {
		return nil, d.errf("read: %v", err)
	}
	d.off += int64(n)
	return b, nil
}

func (d *decoder) u8() (uint8, error) {
	b, err := d.read(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (d *decoder) u16() (uint16, error) {
	b, err := d.read(2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

func (d *decoder) u32() (uint32, error) {
	b, err := d.read(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (d *decoder) u64() (uint64, error) {
	b, err := d.read(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (d *decoder) str() (string, error) {
	start := d.off
	n, err := d.u64()
	if err != nil {
		return "", err
	}
	if n > uint64(d.remaining()) {
		return "", fmt.Errorf("at byte %d: string length %d exceeds the %d bytes left", start, n, d.remaining())
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		return "", d.errf("read string: %v", err)
	}
	d.off += int64(n)
	return string(b), nil
}

func parse(r io.ReaderAt, size int64) (*File, error) {
	if size < 0 {
		return nil, fmt.Errorf("negative size %d", size)
	}
	d := &decoder{r: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 1<<16), size: size}
	magic, err := d.read(4)
	if err != nil {
		return nil, fmt.Errorf("read magic: %w", err)
	}
	if string(magic) != Magic {
		return nil, fmt.Errorf("bad magic %q, want %q (not a GGUF file)", magic, Magic)
	}
	version, err := d.u32()
	if err != nil {
		return nil, fmt.Errorf("read version: %w", err)
	}
	switch {
	case version == 2 || version == 3:
	case version == 1:
		return nil, fmt.Errorf("version 1 is not supported (only 2 and 3)")
	case version&0xFFFF == 0 && version != 0:
		return nil, fmt.Errorf("version field 0x%08x looks big-endian; only little-endian files are supported", version)
	default:
		return nil, fmt.Errorf("unsupported version %d (only 2 and 3)", version)
	}
	nTensors, err := d.u64()
	if err != nil {
		return nil, fmt.Errorf("read tensor count: %w", err)
	}
	nKV, err := d.u64()
	if err != nil {
		return nil, fmt.Errorf("read metadata count: %w", err)
	}
	// Each KV needs at least a key length, a type and one byte of value.
	if nKV > uint64(d.remaining())/(8+4+1) {
		return nil, fmt.Errorf("metadata count %d cannot fit in the %d bytes left", nKV, d.remaining())
	}
	if nTensors > uint64(d.remaining())/minTensorInfo {
		return nil, fmt.Errorf("tensor count %d cannot fit in the %d bytes left", nTensors, d.remaining())
	}
	f := &File{Version: version, Alignment: DefaultAlignment, size: size,
		kvs: make([]KV, 0, nKV), kvIndex: make(map[string]int, nKV)}
	for i := uint64(0); i < nKV; i++ {
		kvStart := d.off
		key, err := d.str()
		if err != nil {
			return nil, fmt.Errorf("read key of metadata entry %d: %w", i, err)
		}
		if _, dup := f.kvIndex[key]; dup {
			return nil, fmt.Errorf("at byte %d: duplicate metadata key %q", kvStart, key)
		}
		typ, err := d.u32()
		if err != nil {
			return nil, fmt.Errorf("read type of key %q: %w", key, err)
		}
		v, err := d.value(ValueType(typ), 0)
		if err != nil {
			return nil, fmt.Errorf("read value of key %q: %w", key, err)
		}
		f.kvIndex[key] = len(f.kvs)
		f.kvs = append(f.kvs, KV{Key: key, Value: v})
	}
	if err := f.checkKnownKeys(); err != nil {
		return nil, err
	}
	if v, ok := f.KV("general.alignment"); ok {
		a, _ := v.Uint()
		f.Alignment = a
	}
	if nTensors > uint64(d.remaining())/minTensorInfo {
		return nil, fmt.Errorf("tensor count %d cannot fit in the %d bytes left after metadata", nTensors, d.remaining())
	}
	f.tensors = make([]TensorInfo, 0, nTensors)
	f.tIndex = make(map[string]int, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		t, err := d.tensorInfo(i, f.Alignment)
		if err != nil {
			return nil, err
		}
		if _, dup := f.tIndex[t.Name]; dup {
			return nil, fmt.Errorf("tensor %d: duplicate tensor name %q", i, t.Name)
		}
		f.tIndex[t.Name] = len(f.tensors)
		f.tensors = append(f.tensors, t)
	}
	dataOff := alignUp(uint64(d.off), f.Alignment)
	if len(f.tensors) > 0 && dataOff > uint64(size) {
		return nil, fmt.Errorf("data section would start at byte %d, past the end of the %d-byte file", dataOff, size)
	}
	f.DataOffset = int64(dataOff)
	dataLen := uint64(0)
	if dataOff < uint64(size) {
		dataLen = uint64(size) - dataOff
	}
	for _, t := range f.tensors {
		if t.Offset > dataLen || t.Size > dataLen-t.Offset {
			return nil, fmt.Errorf("tensor %q (%s %v): data [%d, +%d) runs past the end of the %d-byte data section (truncated file?)",
				t.Name, t.TypeName(), t.Dims, t.Offset, t.Size, dataLen)
		}
	}
	return f, nil
}

func alignUp(x, a uint64) uint64 {
	return (x + a - 1) / a * a
}

// tensorInfo reads the i-th tensor info.
func (d *decoder) tensorInfo(i uint64, align uint64) (TensorInfo, error) {
	start := d.off
	name, err := d.str()
	if err != nil {
		return TensorInfo{}, fmt.Errorf("read name of tensor %d: %w", i, err)
	}
	wrap := func(what string, err error) error {
		return fmt.Errorf("tensor %q (info at byte %d): %s: %w", name, start, what, err)
	}
	nd, err := d.u32()
	if err != nil {
		return TensorInfo{}, wrap("read dim count", err)
	}
	if nd > maxDims {
		return TensorInfo{}, wrap("dims", fmt.Errorf("%d dimensions, at most %d allowed", nd, maxDims))
	}
	dims := make([]uint64, nd)
	for j := range dims {
		if dims[j], err = d.u64(); err != nil {
			return TensorInfo{}, wrap("read dims", err)
		}
	}
	typ, err := d.u32()
	if err != nil {
		return TensorInfo{}, wrap("read type", err)
	}
	off, err := d.u64()
	if err != nil {
		return TensorInfo{}, wrap("read offset", err)
	}
	if _, ok := layoutOf(typ); !ok {
		return TensorInfo{}, wrap("type", fmt.Errorf("unknown ggml type id %d", typ))
	}
	size, err := TensorBytes(typ, dims)
	if err != nil {
		return TensorInfo{}, wrap("size", err)
	}
	if off%align != 0 {
		return TensorInfo{}, wrap("offset", fmt.Errorf("data offset %d is not a multiple of the alignment %d", off, align))
	}
	return TensorInfo{Name: name, Type: typ, Dims: dims, Offset: off, Size: size}, nil
}

// value reads one value of type t; depth counts enclosing arrays.
func (d *decoder) value(t ValueType, depth int) (Value, error) {
	start := d.off
	switch t {
	case TypeUint8:
		x, err := d.u8()
		return Value{Type: t, v: uint64(x)}, err
	case TypeInt8:
		x, err := d.u8()
		return Value{Type: t, v: int64(int8(x))}, err
	case TypeUint16:
		x, err := d.u16()
		return Value{Type: t, v: uint64(x)}, err
	case TypeInt16:
		x, err := d.u16()
		return Value{Type: t, v: int64(int16(x))}, err
	case TypeUint32:
		x, err := d.u32()
		return Value{Type: t, v: uint64(x)}, err
	case TypeInt32:
		x, err := d.u32()
		return Value{Type: t, v: int64(int32(x))}, err
	case TypeFloat32:
		x, err := d.u32()
		return Value{Type: t, v: float64(math.Float32frombits(x))}, err
	case TypeBool:
		x, err := d.u8()
		if err == nil && x > 1 {
			return Value{}, fmt.Errorf("at byte %d: bool value %d is neither 0 nor 1", start, x)
		}
		return Value{Type: t, v: x == 1}, err
	case TypeString:
		s, err := d.str()
		return Value{Type: t, v: s}, err
	case TypeUint64:
		x, err := d.u64()
		return Value{Type: t, v: x}, err
	case TypeInt64:
		x, err := d.u64()
		return Value{Type: t, v: int64(x)}, err
	case TypeFloat64:
		x, err := d.u64()
		return Value{Type: t, v: math.Float64frombits(x)}, err
	case TypeArray:
		return d.array(depth)
	}
	return Value{}, fmt.Errorf("at byte %d: unknown value type %d", start-4, uint32(t))
}

func (d *decoder) array(depth int) (Value, error) {
	start := d.off
	if depth >= maxArrayDepth {
		return Value{}, d.errf("arrays nested deeper than %d", maxArrayDepth)
	}
	et32, err := d.u32()
	if err != nil {
		return Value{}, err
	}
	et := ValueType(et32)
	n, err := d.u64()
	if err != nil {
		return Value{}, err
	}
	min := et.minSize()
	if min < 0 {
		return Value{}, fmt.Errorf("at byte %d: array of unknown element type %d", start, et32)
	}
	if n > uint64(d.remaining())/uint64(min) {
		return Value{}, fmt.Errorf("at byte %d: array of %d %s values cannot fit in the %d bytes left", start, n, et, d.remaining())
	}
	out := Value{Type: TypeArray, Elem: et}
	switch et {
	case TypeUint8:
		out.v, err = readFixed(d, n, func(b []byte) uint8 { return b[0] })
	case TypeInt8:
		out.v, err = readFixed(d, n, func(b []byte) int8 { return int8(b[0]) })
	case TypeUint16:
		out.v, err = readFixed(d, n, func(b []byte) uint16 { return binary.LittleEndian.Uint16(b) })
	case TypeInt16:
		out.v, err = readFixed(d, n, func(b []byte) int16 { return int16(binary.LittleEndian.Uint16(b)) })
	case TypeUint32:
		out.v, err = readFixed(d, n, binary.LittleEndian.Uint32)
	case TypeInt32:
		out.v, err = readFixed(d, n, func(b []byte) int32 { return int32(binary.LittleEndian.Uint32(b)) })
	case TypeFloat32:
		out.v, err = readFixed(d, n, func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) })
	case TypeUint64:
		out.v, err = readFixed(d, n, binary.LittleEndian.Uint64)
	case TypeInt64:
		out.v, err = readFixed(d, n, func(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) })
	case TypeFloat64:
		out.v, err = readFixed(d, n, func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) })
	case TypeBool:
		s := make([]bool, n)
		for i := range s {
			x, err := d.u8()
			if err != nil {
				return Value{}, err
			}
			if x > 1 {
				return Value{}, fmt.Errorf("at byte %d: bool element %d is %d, neither 0 nor 1", d.off-1, i, x)
			}
			s[i] = x == 1
		}
		out.v = s
	case TypeString:
		s := make([]string, n)
		for i := range s {
			if s[i], err = d.str(); err != nil {
				return Value{}, fmt.Errorf("string element %d: %w", i, err)
			}
		}
		out.v = s
	case TypeArray:
		s := make([]Value, n)
		for i := range s {
			if s[i], err = d.array(depth + 1); err != nil {
				return Value{}, fmt.Errorf("array element %d: %w", i, err)
			}
		}
		out.v = s
	}
	if err != nil {
		return Value{}, err
	}
	return out, nil
}

// readFixed reads n fixed-size elements; n has been checked against the bytes left.
func readFixed[T any, B ~[]byte](d *decoder, n uint64, conv func(B) T) ([]T, error) {
	var zero T
	sz := binary.Size(zero)
	if sz <= 0 {
		sz = 1 // bool-like types are handled elsewhere
	}
	s := make([]T, n)
	for i := range s {
		b, err := d.read(sz)
		if err != nil {
			return nil, err
		}
		s[i] = conv(b)
	}
	return s, nil
}
