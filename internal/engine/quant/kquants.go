package quant

import (
	"encoding/binary"
	"math"
)

// K-quants: super-blocks of QK = 256 values.
//
//	Q4_K (144 B): d f16 | dmin f16 | scales[12] | qs[128]
//	Q5_K (176 B): d f16 | dmin f16 | scales[12] | qh[32] | qs[128]
//	Q6_K (210 B): ql[128] | qh[64] | scales[16] int8 | d f16
//	Q8_K (292 B): d f32 | qs[256] int8 | bsums[16] int16 (sums of 16 qs each)
//
// Q4_K/Q5_K have 8 sub-blocks of 32 with a 6-bit scale and 6-bit min each,
// packed in 12 bytes (see scaleMinK4); value = d*sc*q - dmin*m. Within each
// 64-value half, byte l of qs holds value l (low nibble) and l+32 (high).

const groupMaxEps = 1e-15

// nearestInt rounds to the nearest integer, ties to even, like ggml's
// nearest_int (valid for |f| <= 2^22).
func nearestInt(f float32) int { return int(math.RoundToEven(float64(f))) }

// scaleMinK4 unpacks sub-block j's 6-bit scale and min (ggml get_scale_min_k4):
// bytes 0-3 hold scales 0-3 (low 6 bits), bytes 4-7 mins 0-3, bytes 8-11 the
// low nibbles of scales/mins 4-7; their top 2 bits sit in bits 6-7 of bytes 0-7.
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

func dequantQ4_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK; i++ {
		b := src[i*q4_KBytes:]
		d, dmin := f16at(b), f16at(b[2:])
		sc := b[4:16]
		q := b[16:144]
		y := dst[i*QK:]
		for h := range 4 {
			s1, m1 := scaleMinK4(2*h, sc)
			s2, m2 := scaleMinK4(2*h+1, sc)
			d1, mm1 := d*float32(s1), dmin*float32(m1)
			d2, mm2 := d*float32(s2), dmin*float32(m2)
			for l := range 32 {
				y[64*h+l] = d1*float32(q[32*h+l]&0xf) - mm1
				y[64*h+32+l] = d2*float32(q[32*h+l]>>4) - mm2
			}
		}
	}
}

func dequantQ5_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK; i++ {
		b := src[i*q5_KBytes:]
		d, dmin := f16at(b), f16at(b[2:])
		sc := b[4:16]
		qh := b[16:48]
		q := b[48:176]
		y := dst[i*QK:]
		for h := range 4 {
			s1, m1 := scaleMinK4(2*h, sc)
			s2, m2 := scaleMinK4(2*h+1, sc)
			d1, mm1 := d*float32(s1), dmin*float32(m1)
			d2, mm2 := d*float32(s2), dmin*float32(m2)
			u1, u2 := byte(1)<<(2*h), byte(2)<<(2*h)
			for l := range 32 {
				v1, v2 := q[32*h+l]&0xf, q[32*h+l]>>4
				if qh[l]&u1 != 0 {
					v1 += 16
				}
				if qh[l]&u2 != 0 {
					v2 += 16
				}
				y[64*h+l] = d1*float32(v1) - mm1
				y[64*h+32+l] = d2*float32(v2) - mm2
			}
		}
	}
}

// q6Value returns the 6-bit value k (0..255) of a Q6_K block, minus 32. In each
// 128-value half n, value l+32*r (r = 0..3) has its low 4 bits in
// ql[64n + l + 32*(r&1)] (low nibble for r<2, high for r>=2) and its top 2
// bits in qh[32n + l] bits 2r..2r+1.
func q6Value(ql, qh []byte, k int) int {
	n, r, l := k/128, (k%128)/32, k%32
	lo := ql[64*n+l+32*(r&1)]
	if r >= 2 {
		lo >>= 4
	}
	hi := (qh[32*n+l] >> (2 * r)) & 3
	return int(lo&0xf|hi<<4) - 32
}

func dequantQ6_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK; i++ {
		b := src[i*q6_KBytes:]
		ql, qh, sc := b[0:128], b[128:192], b[192:208]
		d := f16at(b[208:])
		y := dst[i*QK:]
		for k := range QK {
			y[k] = d * float32(int8(sc[k/16])) * float32(q6Value(ql, qh, k))
		}
	}
}

func dequantQ8_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK; i++ {
		b := src[i*q8_KBytes:]
		d := math.Float32frombits(binary.LittleEndian.Uint32(b))
		y := dst[i*QK:]
		for k := range QK {
			y[k] = d * float32(int8(b[4+k]))
		}
	}
}

// quantQ8_K is ggml's quantize_row_q8_K_ref (also what its x86 CPU backend
// uses for activations): iscale = -127/max, nearest-int rounding, float32 d.
func quantQ8_K(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK; i++ {
		x := src[i*QK : (i+1)*QK]
		b := dst[i*q8_KBytes : (i+1)*q8_KBytes]
		maxv, amax := absMax(x)
		if amax == 0 {
			clear(b)
			continue
		}
		iscale := -127 / maxv
		for j := range QK {
			b[4+j] = byte(int8(min(127, nearestInt(float32(iscale*x[j])))))
		}
		for g := range 16 {
			s := 0
			for k := range 16 {
				s += int(int8(b[4+16*g+k]))
			}
			binary.LittleEndian.PutUint16(b[260+2*g:], uint16(int16(s)))
		}
		binary.LittleEndian.PutUint32(b, math.Float32bits(1/iscale))
	}
}

// makeQKX2 is ggml's make_qkx2_quants: fits x ≈ scale*L - min (L in
// [0, nmax]) minimising the weighted squared error over a small search of
// scales; returns scale and min (min >= 0).
func makeQKX2(nmax int, x, weights []float32, L, laux []uint8, rmin, rdelta float32, nstep int) (scale, theMin float32) {
	n := len(x)
	lo, hi := x[0], x[0]
	sumW := weights[0]
	sumX := sumW * x[0]
	for i := 1; i < n; i++ {
		lo = min(lo, x[i])
		hi = max(hi, x[i])
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if lo > 0 {
		lo = 0
	}
	if hi == lo {
		clear(L[:n])
		return 0, -lo
	}
	fnmax := float32(nmax)
	iscale := fnmax / (hi - lo)
	scale = 1 / iscale
	var bestMad float32
	for i := range n {
		l := max(0, min(nmax, nearestInt(float32(iscale*(x[i]-lo)))))
		L[i] = uint8(l)
		diff := float32(scale*float32(l)) + lo - x[i]
		bestMad += float32(weights[i] * float32(diff*diff))
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + rdelta*float32(is) + fnmax) / (hi - lo)
		var sumL, sumL2, sumXL float32
		for i := range n {
			l := max(0, min(nmax, nearestInt(float32(iscale*(x[i]-lo)))))
			laux[i] = uint8(l)
			w, fl := weights[i], float32(l)
			sumL += float32(w * fl)
			sumL2 += float32(float32(w*fl) * fl)
			sumXL += float32(float32(w*fl) * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var mad float32
			for i := range n {
				diff := float32(thisScale*float32(laux[i])) + thisMin - x[i]
				mad += float32(weights[i] * float32(diff*diff))
			}
			if mad < bestMad {
				copy(L[:n], laux[:n])
				bestMad = mad
				scale = thisScale
				lo = thisMin
			}
		}
	}
	return scale, -lo
}

// quantQ45K is quantize_row_q4_K_ref (bits=4: nmax 15, rmin -1, 20 steps) and
// quantize_row_q5_K_ref (bits=5: nmax 31, rmin -0.5, 15 steps).
func quantQ45K(bits int, src []float32, dst []byte) {
	nmax, rmin, nstep, bsz := 15, float32(-1), 20, q4_KBytes
	if bits == 5 {
		nmax, rmin, nstep, bsz = 31, -0.5, 15, q5_KBytes
	}
	var L [QK]uint8
	var laux [32]uint8
	var weights [32]float32
	var scales, mins [8]float32
	for i := 0; i < len(src)/QK; i++ {
		x := src[i*QK : (i+1)*QK]
		b := dst[i*bsz : (i+1)*bsz]
		clear(b)
		var maxScale, maxMin float32
		for j := range 8 {
			xs := x[32*j : 32*j+32]
			var sumX2 float32
			for _, v := range xs {
				sumX2 += float32(v * v)
			}
			avX := float32(math.Sqrt(float64(sumX2 / 32)))
			for l, v := range xs {
				weights[l] = avX + float32(math.Abs(float64(v)))
			}
			scales[j], mins[j] = makeQKX2(nmax, xs, weights[:], L[32*j:32*j+32], laux[:], rmin, 0.1, nstep)
			maxScale = max(maxScale, scales[j])
			maxMin = max(maxMin, mins[j])
		}
		var invScale, invMin float32
		if maxScale > 0 {
			invScale = 63 / maxScale
		}
		if maxMin > 0 {
			invMin = 63 / maxMin
		}
		sc := b[4:16]
		for j := range 8 {
			ls := uint8(min(63, nearestInt(float32(invScale*scales[j]))))
			lm := uint8(min(63, nearestInt(float32(invMin*mins[j]))))
			if j < 4 {
				sc[j] = ls
				sc[j+4] = lm
			} else {
				sc[j+4] = ls&0xf | (lm&0xf)<<4
				sc[j-4] |= (ls >> 4) << 6
				sc[j] |= (lm >> 4) << 6
			}
		}
		put16(b, Float32ToFP16(maxScale/63))
		put16(b[2:], Float32ToFP16(maxMin/63))
		d, dmin := f16at(b), f16at(b[2:])
		for j := range 8 {
			s, m := scaleMinK4(j, sc)
			dj := d * float32(s)
			if dj == 0 {
				continue
			}
			dm := dmin * float32(m)
			for ii := range 32 {
				l := nearestInt(float32(x[32*j+ii]+dm) / dj)
				L[32*j+ii] = uint8(max(0, min(nmax, l)))
			}
		}
		if bits == 4 {
			q := b[16:144]
			for h := range 4 {
				for l := range 32 {
					q[32*h+l] = L[64*h+l] | L[64*h+32+l]<<4
				}
			}
			continue
		}
		qh, q := b[16:48], b[48:176]
		for h := range 4 {
			m1, m2 := byte(1)<<(2*h), byte(2)<<(2*h)
			for l := range 32 {
				l1, l2 := L[64*h+l], L[64*h+32+l]
				if l1 > 15 {
					l1 -= 16
					qh[l] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[l] |= m2
				}
				q[32*h+l] = l1 | l2<<4
			}
		}
	}
}

// makeQX is ggml's make_qx_quants with rmse_type 1 (weights x²) and no
// importance: symmetric L in [0, 2*nmax) with value = scale*(L-nmax).
func makeQX(nmax int, x []float32, L []uint8) float32 {
	maxv, amax := absMax(x)
	if amax < groupMaxEps {
		clear(L[:len(x)])
		return 0
	}
	fit := func(iscale float32, store bool) (sumlx, suml2 float32) {
		for i, v := range x {
			l := max(-nmax, min(nmax-1, nearestInt(float32(iscale*v))))
			if store {
				L[i] = uint8(l + nmax)
			}
			w, fl := float32(v*v), float32(l)
			sumlx += float32(float32(w*v) * fl)
			suml2 += float32(float32(w*fl) * fl)
		}
		return sumlx, suml2
	}
	iscale := -float32(nmax) / maxv
	sumlx, suml2 := fit(iscale, true)
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := scale * sumlx
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + 0.1*float32(is)) / maxv
		sumlx, suml2 = fit(iscale, false)
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			fit(iscale, true)
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}

// quantQ6_K is quantize_row_q6_K_ref.
func quantQ6_K(src []float32, dst []byte) {
	var L [QK]uint8
	var scales [16]float32
	for i := 0; i < len(src)/QK; i++ {
		x := src[i*QK : (i+1)*QK]
		b := dst[i*q6_KBytes : (i+1)*q6_KBytes]
		clear(b)
		var maxScale, maxAbsScale float32
		for ib := range 16 {
			s := makeQX(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16])
			scales[ib] = s
			if a := float32(math.Abs(float64(s))); a > maxAbsScale {
				maxAbsScale, maxScale = a, s
			}
		}
		if maxAbsScale < groupMaxEps {
			continue
		}
		iscale := -128 / maxScale
		put16(b[208:], Float32ToFP16(1/iscale))
		sc := b[192:208]
		for ib := range 16 {
			sc[ib] = byte(int8(min(127, nearestInt(float32(iscale*scales[ib])))))
		}
		d0 := f16at(b[208:])
		for j := range 16 {
			d := d0 * float32(int8(sc[j]))
			if d == 0 {
				continue
			}
			for ii := range 16 {
				l := max(-32, min(31, nearestInt(x[16*j+ii]/d)))
				L[16*j+ii] = uint8(l + 32)
			}
		}
		ql, qh := b[0:128], b[128:192]
		for n := range 2 {
			for l := range 32 {
				q1, q2, q3, q4 := L[128*n+l], L[128*n+l+32], L[128*n+l+64], L[128*n+l+96]
				ql[64*n+l] = q1&0xf | (q3&0xf)<<4
				ql[64*n+l+32] = q2&0xf | (q4&0xf)<<4
				qh[32*n+l] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
			}
		}
	}
}

// Dot products with Q8_K activations. Per super-block, exact integer sums:
// Q4_K/Q5_K: sumf += d*dy*Σ_j sc_j*Σ(q*a) - dmin*dy*Σ_g m_(g/2)*bsums_g;
// Q6_K:      sumf += d*dy*Σ_g sc_g*Σ((q-32)*a) over 16 groups of 16.

func q8KScale(y []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(y)) }

func q8KBsum(y []byte, g int) int { return int(int16(le16(y[260+2*g:]))) }

func dotQ4_K(nb int, w, a []byte) float32 {
	var sumf float32
	for i := range nb {
		x, y := w[i*q4_KBytes:], a[i*q8_KBytes:]
		sc, q, qa := x[4:16], x[16:144], y[4:260]
		sumMins, sumi := 0, 0
		for j := range 8 {
			s, m := scaleMinK4(j, sc)
			sumMins += int(m) * (q8KBsum(y, 2*j) + q8KBsum(y, 2*j+1))
			h, shift := j/2, uint(4*(j&1))
			part := 0
			for l := range 32 {
				part += int((q[32*h+l]>>shift)&0xf) * int(int8(qa[32*j+l]))
			}
			sumi += int(s) * part
		}
		dy := q8KScale(y)
		sumf += f16at(x)*dy*float32(sumi) - f16at(x[2:])*dy*float32(sumMins)
	}
	return sumf
}

func dotQ5_K(nb int, w, a []byte) float32 {
	var sumf float32
	for i := range nb {
		x, y := w[i*q5_KBytes:], a[i*q8_KBytes:]
		sc, qh, q, qa := x[4:16], x[16:48], x[48:176], y[4:260]
		sumMins, sumi := 0, 0
		for j := range 8 {
			s, m := scaleMinK4(j, sc)
			sumMins += int(m) * (q8KBsum(y, 2*j) + q8KBsum(y, 2*j+1))
			h, shift := j/2, uint(4*(j&1))
			part := 0
			for l := range 32 {
				v := int((q[32*h+l] >> shift) & 0xf)
				v |= int(qh[l]>>uint(j)&1) << 4
				part += v * int(int8(qa[32*j+l]))
			}
			sumi += int(s) * part
		}
		dy := q8KScale(y)
		sumf += f16at(x)*dy*float32(sumi) - f16at(x[2:])*dy*float32(sumMins)
	}
	return sumf
}

func dotQ6_K(nb int, w, a []byte) float32 {
	var sumf float32
	for i := range nb {
		x, y := w[i*q6_KBytes:], a[i*q8_KBytes:]
		ql, qh, sc, qa := x[0:128], x[128:192], x[192:208], y[4:260]
		sumi := 0
		for g := range 16 {
			part := 0
			for k := 16 * g; k < 16*g+16; k++ {
				part += q6Value(ql, qh, k) * int(int8(qa[k]))
			}
			sumi += int(int8(sc[g])) * part
		}
		sumf += f16at(x[208:]) * q8KScale(y) * float32(sumi)
	}
	return sumf
}
