package gguf

import (
	"fmt"
	"math"
)

// Value is one metadata value. Scalars are held widened (unsigned as
// uint64, signed as int64, floats as float64) with their wire type kept in
// Type, so a value round-trips unchanged. An array holds a typed Go slice
// ([]uint8, []int8, []uint16, []int16, []uint32, []int32, []float32, []bool,
// []string, []uint64, []int64, []float64) or, for nested arrays, []Value.
type Value struct {
	Type ValueType // wire type of the value
	Elem ValueType // element type when Type == TypeArray
	v    any
}

// Any returns the value as a Go value: uint64, int64, float64, bool or string
// for scalars, the typed slice for arrays.
func (v Value) Any() any { return v.v }

// Len returns the number of elements of an array, 0 for a scalar.
func (v Value) Len() int {
	switch s := v.v.(type) {
	case []uint8:
		return len(s)
	case []int8:
		return len(s)
	case []uint16:
		return len(s)
	case []int16:
		return len(s)
	case []uint32:
		return len(s)
	case []int32:
		return len(s)
	case []float32:
		return len(s)
	case []bool:
		return len(s)
	case []string:
		return len(s)
	case []uint64:
		return len(s)
	case []int64:
		return len(s)
	case []float64:
		return len(s)
	case []Value:
		return len(s)
	}
	return 0
}

// Uint returns an integer value (of any integer type) as uint64; false for
// negative numbers and non-integers.
func (v Value) Uint() (uint64, bool) {
	switch x := v.v.(type) {
	case uint64:
		return x, true
	case int64:
		if x >= 0 {
			return uint64(x), true
		}
	}
	return 0, false
}

// Int returns an integer value (of any integer type) as int64; false when it
// does not fit or is not an integer.
func (v Value) Int() (int64, bool) {
	switch x := v.v.(type) {
	case int64:
		return x, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// Float returns a float32 or float64 value as float64.
func (v Value) Float() (float64, bool) {
	x, ok := v.v.(float64)
	return x, ok
}

// Bool returns a bool value.
func (v Value) Bool() (bool, bool) {
	x, ok := v.v.(bool)
	return x, ok
}

// Str returns a string value.
func (v Value) Str() (string, bool) {
	x, ok := v.v.(string)
	return x, ok
}

// String formats the value for messages; long arrays are summarised.
func (v Value) String() string {
	if v.Type == TypeArray {
		return fmt.Sprintf("[%d x %s]", v.Len(), v.Elem)
	}
	return fmt.Sprint(v.v)
}

// Scalar constructors for writing metadata.

func Uint8(x uint8) Value     { return Value{Type: TypeUint8, v: uint64(x)} }
func Int8(x int8) Value       { return Value{Type: TypeInt8, v: int64(x)} }
func Uint16(x uint16) Value   { return Value{Type: TypeUint16, v: uint64(x)} }
func Int16(x int16) Value     { return Value{Type: TypeInt16, v: int64(x)} }
func Uint32(x uint32) Value   { return Value{Type: TypeUint32, v: uint64(x)} }
func Int32(x int32) Value     { return Value{Type: TypeInt32, v: int64(x)} }
func Uint64(x uint64) Value   { return Value{Type: TypeUint64, v: x} }
func Int64(x int64) Value     { return Value{Type: TypeInt64, v: x} }
func Float32(x float32) Value { return Value{Type: TypeFloat32, v: float64(x)} }
func Float64(x float64) Value { return Value{Type: TypeFloat64, v: x} }
func Bool(x bool) Value       { return Value{Type: TypeBool, v: x} }
func String(x string) Value   { return Value{Type: TypeString, v: x} }

// ArrayElem is the set of Go element types an array value can hold.
type ArrayElem interface {
	uint8 | int8 | uint16 | int16 | uint32 | int32 | float32 | bool | string | uint64 | int64 | float64 | Value
}

// Array returns an array value holding elems (not copied). An array of
// Value is a nested array; each element must itself be an array.
func Array[T ArrayElem](elems []T) Value {
	var et ValueType
	switch any(elems).(type) {
	case []uint8:
		et = TypeUint8
	case []int8:
		et = TypeInt8
	case []uint16:
		et = TypeUint16
	case []int16:
		et = TypeInt16
	case []uint32:
		et = TypeUint32
	case []int32:
		et = TypeInt32
	case []float32:
		et = TypeFloat32
	case []bool:
		et = TypeBool
	case []string:
		et = TypeString
	case []uint64:
		et = TypeUint64
	case []int64:
		et = TypeInt64
	case []float64:
		et = TypeFloat64
	case []Value:
		et = TypeArray
	}
	return Value{Type: TypeArray, Elem: et, v: elems}
}

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}
