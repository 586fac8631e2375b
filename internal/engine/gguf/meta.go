package gguf

import (
	"fmt"
	"math/bits"
)

// KVs returns the metadata in file order. The slice is shared; do not modify it.
func (f *File) KVs() []KV { return f.kvs }

// Keys returns the metadata keys in file order.
func (f *File) Keys() []string {
	keys := make([]string, len(f.kvs))
	for i, kv := range f.kvs {
		keys[i] = kv.Key
	}
	return keys
}

// KV looks a metadata value up by key.
func (f *File) KV(key string) (Value, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return Value{}, false
	}
	return f.kvs[i].Value, true
}

// String returns a string value; false if absent or not a string.
func (f *File) String(key string) (string, bool) {
	v, _ := f.KV(key)
	return v.Str()
}

// Uint returns a non-negative integer value of any integer type.
func (f *File) Uint(key string) (uint64, bool) {
	v, _ := f.KV(key)
	return v.Uint()
}

// Int returns an integer value of any integer type that fits int64.
func (f *File) Int(key string) (int64, bool) {
	v, _ := f.KV(key)
	return v.Int()
}

// Float returns a float32 or float64 value.
func (f *File) Float(key string) (float64, bool) {
	v, _ := f.KV(key)
	return v.Float()
}

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, bool) {
	v, _ := f.KV(key)
	return v.Bool()
}

// Strings returns an array of strings (shared; do not modify).
func (f *File) Strings(key string) ([]string, bool) {
	v, _ := f.KV(key)
	s, ok := v.v.([]string)
	return s, ok
}

// Float32s returns an array of float32 (shared; do not modify).
func (f *File) Float32s(key string) ([]float32, bool) {
	v, _ := f.KV(key)
	s, ok := v.v.([]float32)
	return s, ok
}

// Int32s returns an array of int32 (shared; do not modify).
func (f *File) Int32s(key string) ([]int32, bool) {
	v, _ := f.KV(key)
	s, ok := v.v.([]int32)
	return s, ok
}

// RequireUint returns a non-negative integer value, or an error naming the
// key when it is missing or has another type.
func (f *File) RequireUint(key string) (uint64, error) {
	v, ok := f.KV(key)
	if !ok {
		return 0, fmt.Errorf("gguf: metadata key %q missing", key)
	}
	x, ok := v.Uint()
	if !ok {
		return 0, typeErr(key, v, "a non-negative integer")
	}
	return x, nil
}

// RequireFloat returns a float value (float32/float64), or an error naming
// the key when it is missing or has another type.
func (f *File) RequireFloat(key string) (float64, error) {
	v, ok := f.KV(key)
	if !ok {
		return 0, fmt.Errorf("gguf: metadata key %q missing", key)
	}
	x, ok := v.Float()
	if !ok {
		return 0, typeErr(key, v, "a float")
	}
	return x, nil
}

// RequireString returns a string value, or an error naming the key when it
// is missing or has another type.
func (f *File) RequireString(key string) (string, error) {
	v, ok := f.KV(key)
	if !ok {
		return "", fmt.Errorf("gguf: metadata key %q missing", key)
	}
	x, ok := v.Str()
	if !ok {
		return "", typeErr(key, v, "a string")
	}
	return x, nil
}

// UintOr returns an integer value, def when the key is absent, and an
// error when it is present with another type.
func (f *File) UintOr(key string, def uint64) (uint64, error) {
	if _, ok := f.KV(key); !ok {
		return def, nil
	}
	return f.RequireUint(key)
}

// FloatOr returns a float value, def when the key is absent, and an error
// when it is present with another type.
func (f *File) FloatOr(key string, def float64) (float64, error) {
	if _, ok := f.KV(key); !ok {
		return def, nil
	}
	return f.RequireFloat(key)
}

func typeErr(key string, v Value, want string) error {
	return fmt.Errorf("gguf: %w", typeMismatch(key, v, want))
}

func typeMismatch(key string, v Value, want string) error {
	t := v.Type.String()
	if v.Type == TypeArray {
		t = "array of " + v.Elem.String()
	}
	return fmt.Errorf("metadata key %q has type %s, want %s", key, t, want)
}

// checkKnownKeys rejects general.* keys whose type contradicts the format.
func (f *File) checkKnownKeys() error {
	if v, ok := f.KV("general.alignment"); ok {
		a, ok := v.Uint()
		if !ok {
			return typeMismatch("general.alignment", v, "an unsigned integer")
		}
		if a == 0 || a > maxAlignment || bits.OnesCount64(a) != 1 {
			return fmt.Errorf("metadata key %q is %d, want a power of two in [1, %d]", "general.alignment", a, maxAlignment)
		}
	}
	for _, k := range []string{"general.architecture", "general.name"} {
		if v, ok := f.KV(k); ok {
			if _, ok := v.Str(); !ok {
				return typeMismatch(k, v, "a string")
			}
		}
	}
	for _, k := range []string{"general.file_type", "general.quantization_version"} {
		if v, ok := f.KV(k); ok {
			if _, ok := v.Uint(); !ok {
				return typeMismatch(k, v, "an unsigned integer")
			}
		}
	}
	return nil
}
