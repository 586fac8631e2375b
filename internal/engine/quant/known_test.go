package quant

import (
	"encoding/binary"
	"math"
	"testing"
)

// Hand-built blocks with values worked out from the format description.

func TestKnownQ4_0(t *testing.T) {
	b := make([]byte, 18)
	put16(b, Float32ToFP16(0.5))
	for j := range 16 {
		b[2+j] = byte(j) | byte(15-j)<<4
	}
	y := make([]float32, 32)
	if err := Dequantize(Q4_0, b, y); err != nil {
		t.Fatal(err)
	}
	for j := range 16 {
		if y[j] != float32(j-8)*0.5 || y[j+16] != float32(7-j)*0.5 {
			t.Fatalf("value %d: %v, %v", j, y[j], y[j+16])
		}
	}
}

func TestKnownQ5_0(t *testing.T) {
	b := make([]byte, 22)
	put16(b, Float32ToFP16(2))
	binary.LittleEndian.PutUint32(b[2:], 1<<3|1<<20) // bit 4 of values 3 and 20
	b[6+3] = 0x01                                    // value 3 low nibble 1
	b[6+4] = 0xf0                                    // value 20 low bits 15 (=31 with qh)
	y := make([]float32, 32)
	if err := Dequantize(Q5_0, b, y); err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 32)
	for i := range want {
		want[i] = -32
	}
	want[3] = (17 - 16) * 2
	want[20] = (31 - 16) * 2
	for i := range want {
		if y[i] != want[i] {
			t.Fatalf("value %d = %v, want %v", i, y[i], want[i])
		}
	}
}

func TestKnownQ4_KScales(t *testing.T) {
	// Sub-block j gets scale 10+j*7 and min 63-j*5 (6-bit values), packed per
	// the 12-byte layout; every quant is 3 (low) / 12 (high).
	b := make([]byte, 144)
	put16(b, Float32ToFP16(0.25))
	put16(b[2:], Float32ToFP16(0.125))
	sc := b[4:16]
	var s, m [8]uint8
	for j := range 8 {
		s[j], m[j] = uint8(10+j*7), uint8(63-j*5)
	}
	for j := range 4 {
		sc[j] = s[j] | (s[j+4]>>4)<<6
		sc[j+4] = m[j] | (m[j+4]>>4)<<6
		sc[j+8] = s[j+4]&0xf | (m[j+4]&0xf)<<4
	}
	for j := range 8 {
		if gs, gm := scaleMinK4(j, sc); gs != s[j] || gm != m[j] {
			t.Fatalf("sub-block %d: scale/min %d/%d, want %d/%d", j, gs, gm, s[j], m[j])
		}
	}
	for l := range 128 {
		b[16+l] = 3 | 12<<4
	}
	y := make([]float32, 256)
	if err := Dequantize(Q4_K, b, y); err != nil {
		t.Fatal(err)
	}
	for k := range 256 {
		j := k / 32
		q := float32(3)
		if j%2 == 1 {
			q = 12
		}
		want := 0.25*float32(s[j])*q - 0.125*float32(m[j])
		if y[k] != want {
			t.Fatalf("value %d = %v, want %v", k, y[k], want)
		}
	}
}

func TestKnownQ6_K(t *testing.T) {
	// Value k = (k % 64) - 32 with scale (g - 8) for group g, d = 0.5.
	b := make([]byte, 210)
	ql, qh, sc := b[0:128], b[128:192], b[192:208]
	for k := range 256 {
		v := byte(k % 64)
		n, r, l := k/128, (k%128)/32, k%32
		idx := 64*n + l + 32*(r&1)
		if r < 2 {
			ql[idx] |= v & 0xf
		} else {
			ql[idx] |= (v & 0xf) << 4
		}
		qh[32*n+l] |= (v >> 4) << (2 * r)
	}
	for g := range 16 {
		sc[g] = byte(int8(g - 8))
	}
	put16(b[208:], Float32ToFP16(0.5))
	y := make([]float32, 256)
	if err := Dequantize(Q6_K, b, y); err != nil {
		t.Fatal(err)
	}
	for k := range 256 {
		want := 0.5 * float32(k/16-8) * float32(k%64-32)
		if y[k] != want {
			t.Fatalf("value %d = %v, want %v", k, y[k], want)
		}
	}
}

func TestKnownQ8_K(t *testing.T) {
	x := make([]float32, 256)
	for i := range x {
		x[i] = float32(i%16) - 5
	}
	x[7] = -12.7 // largest magnitude is negative: d = -12.7/127 ... stored as 1/iscale
	b := make([]byte, 292)
	if err := Quantize(Q8_K, x, b); err != nil {
		t.Fatal(err)
	}
	d := math.Float32frombits(binary.LittleEndian.Uint32(b))
	if want := 1 / (-127 / float32(-12.7)); d != want {
		t.Errorf("d = %v, want %v", d, want)
	}
	if int8(b[4+7]) != -127 {
		t.Errorf("q[7] = %d, want -127", int8(b[4+7]))
	}
	for g := range 16 {
		s := 0
		for k := range 16 {
			s += int(int8(b[4+16*g+k]))
		}
		if got := int(int16(binary.LittleEndian.Uint16(b[260+2*g:]))); got != s {
			t.Errorf("bsums[%d] = %d, want %d", g, got, s)
		}
	}
}

func TestQ8_0ActivationRounding(t *testing.T) {
	// amax 127 gives id = 1 exactly: x = 2.5 rounds to 2 as an activation (ties
	// to even) and to 3 in the file quantiser (half away from zero).
	x := make([]float32, 32)
	x[0], x[1] = 127, 2.5
	act, ref := make([]byte, 34), make([]byte, 34)
	if err := QuantizeActivations(Q8_0, x, act); err != nil {
		t.Fatal(err)
	}
	if err := Quantize(Q8_0, x, ref); err != nil {
		t.Fatal(err)
	}
	if act[3] != 2 || ref[3] != 3 || act[2] != 127 || FP16ToFloat32(le16(act)) != 1 {
		t.Errorf("activation q = %d, reference q = %d, d = %v", act[3], ref[3], FP16ToFloat32(le16(act)))
	}
}
