package gguf

import "fmt"

// ValueType is the type tag of a metadata value (gguf_type in the format).
type ValueType uint32

// Metadata value types, numbered as in the format.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

// valueTypeNames names the metadata value types by id (read-only).
var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("ValueType(%d)", uint32(t))
}

// fixedSize is the encoded size in bytes of a scalar of type t, 0 for
// string and array (variable) and -1 for unknown types.
func (t ValueType) fixedSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	case TypeString, TypeArray:
		return 0
	}
	return -1
}

// minSize is the smallest possible encoding of one value of type t:
// a string needs its 8-byte length, an array its 4-byte type and 8-byte count.
func (t ValueType) minSize() int64 {
	switch t {
	case TypeString:
		return 8
	case TypeArray:
		return 12
	}
	return int64(t.fixedSize())
}

// ggml tensor type ids (enum ggml_type). Only the ids are facts of the GGUF
// format; what each block holds is the business of the quant package.
const (
	GGMLTypeF32  uint32 = 0
	GGMLTypeF16  uint32 = 1
	GGMLTypeQ4_0 uint32 = 2
	GGMLTypeQ4_1 uint32 = 3
	GGMLTypeQ5_0 uint32 = 6
	GGMLTypeQ5_1 uint32 = 7
	GGMLTypeQ8_0 uint32 = 8
	GGMLTypeQ8_1 uint32 = 9
	GGMLTypeQ2_K uint32 = 10
	GGMLTypeQ3_K uint32 = 11
	GGMLTypeQ4_K uint32 = 12
	GGMLTypeQ5_K uint32 = 13
	GGMLTypeQ6_K uint32 = 14
	GGMLTypeQ8_K uint32 = 15
	GGMLTypeBF16 uint32 = 30
)

// typeLayout is the block size (elements) and block bytes of a ggml type.
type typeLayout struct {
	name       string
	blockSize  uint64
	blockBytes uint64
}

// ggmlTypes lists the ggml tensor types by id; a zero entry is an unknown id
// (read-only).
var ggmlTypes = [...]typeLayout{
	0:  {"F32", 1, 4},
	1:  {"F16", 1, 2},
	2:  {"Q4_0", 32, 18},
	3:  {"Q4_1", 32, 20},
	6:  {"Q5_0", 32, 22},
	7:  {"Q5_1", 32, 24},
	8:  {"Q8_0", 32, 34},
	9:  {"Q8_1", 32, 36},
	10: {"Q2_K", 256, 84},
	11: {"Q3_K", 256, 110},
	12: {"Q4_K", 256, 144},
	13: {"Q5_K", 256, 176},
	14: {"Q6_K", 256, 210},
	15: {"Q8_K", 256, 292},
	16: {"IQ2_XXS", 256, 66},
	17: {"IQ2_XS", 256, 74},
	18: {"IQ3_XXS", 256, 98},
	19: {"IQ1_S", 256, 50},
	20: {"IQ4_NL", 32, 18},
	21: {"IQ3_S", 256, 110},
	22: {"IQ2_S", 256, 82},
	23: {"IQ4_XS", 256, 136},
	24: {"I8", 1, 1},
	25: {"I16", 1, 2},
	26: {"I32", 1, 4},
	27: {"I64", 1, 8},
	28: {"F64", 1, 8},
	29: {"IQ1_M", 256, 56},
	30: {"BF16", 1, 2},
	34: {"TQ1_0", 256, 54},
	35: {"TQ2_0", 256, 66},
}

func layoutOf(t uint32) (typeLayout, bool) {
	if int64(t) >= int64(len(ggmlTypes)) || ggmlTypes[t].blockSize == 0 {
		return typeLayout{}, false
	}
	return ggmlTypes[t], true
}

// TypeName returns the ggml name of a tensor type id ("F16", "Q4_K", ...),
// or "type(N)" for an id this package does not know.
func TypeName(t uint32) string {
	if l, ok := layoutOf(t); ok {
		return l.name
	}
	return fmt.Sprintf("type(%d)", t)
}

// TensorBytes returns the byte size of a tensor of type t with dims (ggml
// order, ne[0] first). ne[0] must be a multiple of the type's block size.
func TensorBytes(t uint32, dims []uint64) (uint64, error) {
	l, ok := layoutOf(t)
	if !ok {
		return 0, fmt.Errorf("unknown ggml type id %d", t)
	}
	n := uint64(1)
	for _, d := range dims {
		if d == 0 {
			return 0, nil
		}
		if n > maxElements/d {
			return 0, fmt.Errorf("dims %v overflow", dims)
		}
		n *= d
	}
	if len(dims) > 0 && dims[0]%l.blockSize != 0 {
		return 0, fmt.Errorf("ne[0]=%d is not a multiple of the %s block size %d", dims[0], l.name, l.blockSize)
	}
	return n / l.blockSize * l.blockBytes, nil
}

// maxElements bounds the element count of one tensor (2^56), far beyond any
// real model, so that byte sizes never overflow uint64.
const maxElements = uint64(1) << 56
