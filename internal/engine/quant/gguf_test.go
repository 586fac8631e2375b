package quant

import (
	"encoding/binary"
	"fmt"
	"os"
)

// A minimal GGUF (v2/v3) reader for the fixture tests only; the engine's real
// reader is engine/gguf.

type testTensor struct {
	typ    Type
	ne     []uint64
	offset uint64
}

type testGGUF struct {
	data    []byte
	base    uint64
	tensors map[string]testTensor
}

type ggufCursor struct {
	b   []byte
	pos uint64
	err error
}

func (c *ggufCursor) take(n uint64) []byte {
	if c.err != nil || n > uint64(len(c.b))-c.pos {
		if c.err == nil {
			c.err = fmt.Errorf("truncated at %d", c.pos)
		}
		return make([]byte, n%64)
	}
	s := c.b[c.pos : c.pos+n : c.pos+n]
	c.pos += n
	return s
}

func (c *ggufCursor) u32() uint32 { return binary.LittleEndian.Uint32(append(c.take(4), 0, 0, 0, 0)) }
func (c *ggufCursor) u64() uint64 {
	return binary.LittleEndian.Uint64(append(c.take(8), 0, 0, 0, 0, 0, 0, 0, 0))
}
func (c *ggufCursor) str() string { return string(c.take(c.u64())) }

func (c *ggufCursor) skipValue(vt uint32) (uint64, bool) {
	sizes := map[uint32]uint64{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
	if sz, ok := sizes[vt]; ok {
		b := c.take(sz)
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		return v, true
	}
	switch vt {
	case 8:
		c.str()
	case 9:
		et, n := c.u32(), c.u64()
		for i := uint64(0); i < n && c.err == nil; i++ {
			c.skipValue(et)
		}
	default:
		c.err = fmt.Errorf("bad value type %d", vt)
	}
	return 0, false
}

func readTestGGUF(path string) (*testGGUF, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &ggufCursor{b: data}
	if string(c.take(4)) != "GGUF" {
		return nil, fmt.Errorf("%s: not a GGUF file", path)
	}
	if v := c.u32(); v != 2 && v != 3 {
		return nil, fmt.Errorf("%s: GGUF version %d", path, v)
	}
	nt, nkv := c.u64(), c.u64()
	align := uint64(32)
	for i := uint64(0); i < nkv && c.err == nil; i++ {
		key := c.str()
		v, scalar := c.skipValue(c.u32())
		if key == "general.alignment" && scalar {
			align = v
		}
	}
	g := &testGGUF{data: data, tensors: map[string]testTensor{}}
	for i := uint64(0); i < nt && c.err == nil; i++ {
		name := c.str()
		nd := c.u32()
		var t testTensor
		for range nd {
			t.ne = append(t.ne, c.u64())
		}
		t.typ = Type(c.u32())
		t.offset = c.u64()
		g.tensors[name] = t
	}
	if c.err != nil {
		return nil, fmt.Errorf("%s: %w", path, c.err)
	}
	g.base = (c.pos + align - 1) / align * align
	return g, nil
}

// tensor returns the raw bytes and element count of a tensor.
func (g *testGGUF) tensor(name string) (testTensor, []byte, int, error) {
	t, ok := g.tensors[name]
	if !ok {
		return t, nil, 0, fmt.Errorf("no tensor %q", name)
	}
	n := 1
	for _, d := range t.ne {
		n *= int(d)
	}
	size, err := t.typ.RowBytes(n)
	if err != nil {
		return t, nil, 0, err
	}
	start := g.base + t.offset
	if start+uint64(size) > uint64(len(g.data)) {
		return t, nil, 0, fmt.Errorf("tensor %q past the end of the file", name)
	}
	return t, g.data[start : start+uint64(size)], n, nil
}
