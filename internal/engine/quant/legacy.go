package quant

import (
	"encoding/binary"
	"math"
)

// Blocks of 32 values ("legacy" quants). In every layout below, byte j of qs
// holds value j in its low nibble and value j+16 in its high nibble.

func le16(b []byte) uint16     { return binary.LittleEndian.Uint16(b) }
func put16(b []byte, v uint16) { binary.LittleEndian.PutUint16(b, v) }
func f16at(b []byte) float32   { return FP16ToFloat32(le16(b)) }

// absMax returns the value of largest magnitude in x (the first one on ties)
// and its magnitude.
func absMax(x []float32) (maxv, amax float32) {
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax, maxv = a, v
		}
	}
	return maxv, amax
}

func minMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		lo = min(lo, v)
		hi = max(hi, v)
	}
	return lo, hi
}

// Q4_0: value = d * (q - 8), q in [0, 15].

func dequantQ4_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*q4_0Bytes:]
		d := f16at(b)
		qs := b[2:18]
		y := dst[i*32:]
		for j := range 16 {
			y[j] = float32(int(qs[j]&0xf)-8) * d
			y[j+16] = float32(int(qs[j]>>4)-8) * d
		}
	}
}

func quantQ4_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*q4_0Bytes:]
		maxv, _ := absMax(x)
		d := maxv / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		put16(b, Float32ToFP16(d))
		for j := range 16 {
			x0 := float32(x[j] * id)
			x1 := float32(x[j+16] * id)
			b[2+j] = byte(min(15, truncByte(x0+8.5))) | byte(min(15, truncByte(x1+8.5)))<<4
		}
	}
}

// truncByte converts like C's (int8_t)(f) for f in [0, 127]: truncation.
func truncByte(f float32) int {
	if !(f >= 0) { // also NaN
		return 0
	}
	if f > 127 {
		return 127
	}
	return int(f)
}

// Q4_1: value = d*q + m, q in [0, 15].

func dequantQ4_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*q4_1Bytes:]
		d, m := f16at(b), f16at(b[2:])
		qs := b[4:20]
		y := dst[i*32:]
		for j := range 16 {
			y[j] = float32(qs[j]&0xf)*d + m
			y[j+16] = float32(qs[j]>>4)*d + m
		}
	}
}

func quantQ4_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*q4_1Bytes:]
		lo, hi := minMax(x)
		d := (hi - lo) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		put16(b, Float32ToFP16(d))
		put16(b[2:], Float32ToFP16(lo))
		for j := range 16 {
			x0 := float32((x[j] - lo) * id)
			x1 := float32((x[j+16] - lo) * id)
			b[4+j] = byte(min(15, truncByte(x0+0.5))) | byte(min(15, truncByte(x1+0.5)))<<4
		}
	}
}

// Q5_0: value = d * (q - 16), q in [0, 31]; bit 4 of value j is bit j of qh.

func dequantQ5_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*q5_0Bytes:]
		d := f16at(b)
		qh := binary.LittleEndian.Uint32(b[2:])
		qs := b[6:22]
		y := dst[i*32:]
		for j := range 16 {
			h0 := byte(qh>>uint(j)) << 4 & 0x10
			h1 := byte(qh>>uint(j+12)) & 0x10
			y[j] = float32(int(qs[j]&0xf|h0)-16) * d
			y[j+16] = float32(int(qs[j]>>4|h1)-16) * d
		}
	}
}

func quantQ5_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*q5_0Bytes:]
		maxv, _ := absMax(x)
		d := maxv / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		put16(b, Float32ToFP16(d))
		var qh uint32
		for j := range 16 {
			x0 := float32(x[j] * id)
			x1 := float32(x[j+16] * id)
			q0 := min(31, truncByte(x0+16.5))
			q1 := min(31, truncByte(x1+16.5))
			b[6+j] = byte(q0&0xf) | byte(q1&0xf)<<4
			qh |= uint32(q0>>4&1) << uint(j)
			qh |= uint32(q1>>4&1) << uint(j+16)
		}
		binary.LittleEndian.PutUint32(b[2:], qh)
	}
}

// Q5_1: value = d*q + m, q in [0, 31].

func dequantQ5_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*q5_1Bytes:]
		d, m := f16at(b), f16at(b[2:])
		qh := binary.LittleEndian.Uint32(b[4:])
		qs := b[8:24]
		y := dst[i*32:]
		for j := range 16 {
			h0 := byte(qh>>uint(j)) << 4 & 0x10
			h1 := byte(qh>>uint(j+12)) & 0x10
			y[j] = float32(qs[j]&0xf|h0)*d + m
			y[j+16] = float32(qs[j]>>4|h1)*d + m
		}
	}
}

func quantQ5_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*q5_1Bytes:]
		lo, hi := minMax(x)
		d := (hi - lo) / 31
		var id float32
		if d != 0 {
			id = 1 / d
		}
		put16(b, Float32ToFP16(d))
		put16(b[2:], Float32ToFP16(lo))
		var qh uint32
		for j := range 16 {
			x0 := float32((x[j] - lo) * id)
			x1 := float32((x[j+16] - lo) * id)
			q0 := min(31, truncByte(x0+0.5)) // ggml: (uint8_t)(x0 + 0.5f)
			q1 := min(31, truncByte(x1+0.5))
			b[8+j] = byte(q0&0xf) | byte(q1&0xf)<<4
			qh |= uint32(q0>>4&1) << uint(j)
			qh |= uint32(q1>>4&1) << uint(j+16)
		}
		binary.LittleEndian.PutUint32(b[4:], qh)
	}
}

// Q8_0: value = d * q, q in [-127, 127].

func dequantQ8_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*q8_0Bytes:]
		d := f16at(b)
		y := dst[i*32:]
		for j := range 32 {
			y[j] = float32(int8(b[2+j])) * d
		}
	}
}

// quantQ8_0 is ggml's reference quantiser (files): id = 1/(amax/127), round
// half away from zero.
func quantQ8_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*q8_0Bytes:]
		_, amax := absMax(x)
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		put16(b, Float32ToFP16(d))
		for j := range 32 {
			b[2+j] = byte(int8(math.Round(float64(float32(x[j] * id)))))
		}
	}
}

// quantQ8_0Act is llama.cpp's x86 CPU activation quantiser: id = 127/amax,
// round half to even.
func quantQ8_0Act(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*q8_0Bytes:]
		_, amax := absMax(x)
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		put16(b, Float32ToFP16(amax/127))
		for j := range 32 {
			b[2+j] = byte(int8(math.RoundToEven(float64(float32(x[j] * id)))))
		}
	}
}

// Q8_1: Q8_0 plus s = d * sum(q) (d the float32 scale before rounding to F16).

func dequantQ8_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*q8_1Bytes:]
		d := f16at(b)
		y := dst[i*32:]
		for j := range 32 {
			y[j] = float32(int8(b[4+j])) * d
		}
	}
}

func quantQ8_1(src []float32, dst []byte, act bool) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*q8_1Bytes:]
		_, amax := absMax(x)
		d := amax / 127
		var id float32
		switch {
		case act && amax != 0:
			id = 127 / amax
		case !act && d != 0:
			id = 1 / d
		}
		sum := 0
		for j := range 32 {
			v := float64(float32(x[j] * id))
			var q int8
			if act {
				q = int8(math.RoundToEven(v))
			} else {
				q = int8(math.Round(v))
			}
			b[4+j] = byte(q)
			sum += int(q)
		}
		put16(b, Float32ToFP16(d))
		put16(b[2:], Float32ToFP16(float32(sum)*d))
	}
}

// Dot products with 8-bit activation blocks: per block an exact integer sum,
// then sumf += sumi * (dw*da) (+ mw*sa for the types with a minimum).

func dotQ4_0(nb int, w, a []byte) float32 {
	var sumf float32
	for i := range nb {
		x, y := w[i*q4_0Bytes:], a[i*q8_0Bytes:]
		sumi := 0
		for j := range 16 {
			sumi += (int(x[2+j]&0xf) - 8) * int(int8(y[2+j]))
			sumi += (int(x[2+j]>>4) - 8) * int(int8(y[2+j+16]))
		}
		sumf += float32(sumi) * (f16at(x) * f16at(y))
	}
	return sumf
}

func dotQ4_1(nb int, w, a []byte) float32 {
	var sumf float32
	for i := range nb {
		x, y := w[i*q4_1Bytes:], a[i*q8_1Bytes:]
		sumi := 0
		for j := range 16 {
			sumi += int(x[4+j]&0xf) * int(int8(y[4+j]))
			sumi += int(x[4+j]>>4) * int(int8(y[4+j+16]))
		}
		sumf += float32(sumi)*(f16at(x)*f16at(y)) + f16at(x[2:])*f16at(y[2:])
	}
	return sumf
}

func dotQ5_0(nb int, w, a []byte) float32 {
	var sumf float32
	for i := range nb {
		x, y := w[i*q5_0Bytes:], a[i*q8_0Bytes:]
		qh := binary.LittleEndian.Uint32(x[2:])
		sumi := 0
		for j := range 16 {
			h0 := int(qh>>uint(j)&1) << 4
			h1 := int(qh>>uint(j+16)&1) << 4
			sumi += ((int(x[6+j]&0xf) | h0) - 16) * int(int8(y[2+j]))
			sumi += ((int(x[6+j]>>4) | h1) - 16) * int(int8(y[2+j+16]))
		}
		sumf += float32(sumi) * (f16at(x) * f16at(y))
	}
	return sumf
}

func dotQ5_1(nb int, w, a []byte) float32 {
	var sumf float32
	for i := range nb {
		x, y := w[i*q5_1Bytes:], a[i*q8_1Bytes:]
		qh := binary.LittleEndian.Uint32(x[4:])
		sumi := 0
		for j := range 16 {
			h0 := int(qh>>uint(j)&1) << 4
			h1 := int(qh>>uint(j+16)&1) << 4
			sumi += (int(x[8+j]&0xf) | h0) * int(int8(y[4+j]))
			sumi += (int(x[8+j]>>4) | h1) * int(int8(y[4+j+16]))
		}
		sumf += float32(sumi)*(f16at(x)*f16at(y)) + f16at(x[2:])*f16at(y[2:])
	}
	return sumf
}

func dotQ8_0(nb int, w, a []byte) float32 {
	var sumf float32
	for i := range nb {
		x, y := w[i*q8_0Bytes:], a[i*q8_0Bytes:]
		sumi := 0
		for j := range 32 {
			sumi += int(int8(x[2+j])) * int(int8(y[2+j]))
		}
		sumf += float32(sumi) * (f16at(x) * f16at(y))
	}
	return sumf
}
