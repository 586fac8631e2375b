package quant

import (
	"fmt"
	"strings"
)

// Type is a ggml tensor type id as stored in GGUF tensor infos.
type Type uint32

// ggml type ids (ggml.h enum ggml_type).
const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q4_1 Type = 3
	Q5_0 Type = 6
	Q5_1 Type = 7
	Q8_0 Type = 8
	Q8_1 Type = 9
	Q2_K Type = 10
	Q3_K Type = 11
	Q4_K Type = 12
	Q5_K Type = 13
	Q6_K Type = 14
	Q8_K Type = 15
	BF16 Type = 30
)

// QK is the K-quant super-block size (values per block).
const QK = 256

// Block sizes in bytes (ggml-common.h static_asserts).
const (
	q4_0Bytes = 2 + 16     // d f16, qs[16] nibbles
	q4_1Bytes = 2 + 2 + 16 // d, m f16, qs[16]
	q5_0Bytes = 2 + 4 + 16 // d, qh[4] (bit 4 of each value), qs[16]
	q5_1Bytes = 2 + 2 + 4 + 16
	q8_0Bytes = 2 + 32          // d f16, qs[32] int8
	q8_1Bytes = 2 + 2 + 32      // d f16, s f16 (= d*sum(qs)), qs[32]
	q2_KBytes = 16 + 64 + 2 + 2 // scales[16], qs[64], d, dmin
	q3_KBytes = 32 + 64 + 12 + 2
	q4_KBytes = 2 + 2 + 12 + 128      // d, dmin, scales[12] (6-bit scale+min x8), qs[128]
	q5_KBytes = 2 + 2 + 12 + 32 + 128 // d, dmin, scales[12], qh[32], qs[128]
	q6_KBytes = 128 + 64 + 16 + 2     // ql[128], qh[64], scales[16] int8, d
	q8_KBytes = 4 + 256 + 16*2        // d f32, qs[256] int8, bsums[16] int16
)

type typeInfo struct {
	name       string
	blockSize  int
	blockBytes int
}

func info(t Type) (typeInfo, bool) {
	switch t {
	case F32:
		return typeInfo{"F32", 1, 4}, true
	case F16:
		return typeInfo{"F16", 1, 2}, true
	case BF16:
		return typeInfo{"BF16", 1, 2}, true
	case Q4_0:
		return typeInfo{"Q4_0", 32, q4_0Bytes}, true
	case Q4_1:
		return typeInfo{"Q4_1", 32, q4_1Bytes}, true
	case Q5_0:
		return typeInfo{"Q5_0", 32, q5_0Bytes}, true
	case Q5_1:
		return typeInfo{"Q5_1", 32, q5_1Bytes}, true
	case Q8_0:
		return typeInfo{"Q8_0", 32, q8_0Bytes}, true
	case Q8_1:
		return typeInfo{"Q8_1", 32, q8_1Bytes}, true
	case Q2_K:
		return typeInfo{"Q2_K", QK, q2_KBytes}, true
	case Q3_K:
		return typeInfo{"Q3_K", QK, q3_KBytes}, true
	case Q4_K:
		return typeInfo{"Q4_K", QK, q4_KBytes}, true
	case Q5_K:
		return typeInfo{"Q5_K", QK, q5_KBytes}, true
	case Q6_K:
		return typeInfo{"Q6_K", QK, q6_KBytes}, true
	case Q8_K:
		return typeInfo{"Q8_K", QK, q8_KBytes}, true
	}
	return typeInfo{}, false
}

// Known reports whether t is a type id this package knows the layout of.
func (t Type) Known() bool { _, ok := info(t); return ok }

// String returns ggml's name of the type ("Q4_K", "F16", ...), or "type(N)".
func (t Type) String() string {
	if i, ok := info(t); ok {
		return i.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize returns the number of values per block (1 for F32/F16/BF16, 0 if
// the type is unknown).
func (t Type) BlockSize() int { i, _ := info(t); return i.blockSize }

// BlockBytes returns the size of one block in bytes (0 if unknown).
func (t Type) BlockBytes() int { i, _ := info(t); return i.blockBytes }

// RowBytes returns the bytes taken by n values of type t. It fails if the type
// is unknown, n is negative or n is not a multiple of the block size.
func (t Type) RowBytes(n int) (int, error) {
	i, ok := info(t)
	if !ok {
		return 0, fmt.Errorf("row bytes: unknown tensor type %s", t)
	}
	if n < 0 || n%i.blockSize != 0 {
		return 0, fmt.Errorf("row bytes: %d values of %s: not a multiple of the block size %d", n, t, i.blockSize)
	}
	return n / i.blockSize * i.blockBytes, nil
}

// Supported reports whether t is a weight type the engine can compute with:
// F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K.
func (t Type) Supported() bool {
	switch t {
	case F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K:
		return true
	}
	return false
}

// ParseType parses a type name, case-insensitively ("q4_0", "Q4_K", "f16").
func ParseType(s string) (Type, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	for _, t := range []Type{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K} {
		if t.String() == u {
			return t, nil
		}
	}
	return 0, fmt.Errorf("parse tensor type %q: unknown type", s)
}

// VecDotType returns the type the activations are converted to before a dot
// product with weights of type t (ggml's vec_dot_type): Q8_0 for Q4_0, Q5_0
// and Q8_0; Q8_1 for Q4_1 and Q5_1; Q8_K for the K-quants; F16, BF16 and F32
// for themselves. It returns t itself for types without a dot product.
func VecDotType(t Type) Type {
	switch t {
	case Q4_0, Q5_0, Q8_0:
		return Q8_0
	case Q4_1, Q5_1:
		return Q8_1
	case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K:
		return Q8_K
	}
	return t
}
