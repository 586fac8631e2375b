//go:build !purego

#include "textflag.h"

// One F16 row at a time times one float32 activation row, 64 values per
// iteration: four VCVTPH2PS (16 values each) and four FMAs into separate
// accumulators. Rows are read one after another, a single sequential
// stream: the hardware prefetcher follows it best (4 rows read side by
// side streamed 15% slower at model scale).

// func matVecF16Rows(n int, w *byte, stride int, rows int, a *float32, out *float32)
TEXT ·matVecF16Rows(SB), NOSPLIT, $0-48
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ rows+24(FP), R10
	MOVQ out+40(FP), DX

f16row:
	MOVQ n+0(FP), CX
	SHRQ $6, CX
	MOVQ a+32(FP), DI
	MOVQ SI, BX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3

f16loop:
	VCVTPH2PS (BX), Z4
	VCVTPH2PS 32(BX), Z5
	VCVTPH2PS 64(BX), Z6
	VCVTPH2PS 96(BX), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ $128, BX
	ADDQ $256, DI
	DECQ CX
	JNZ f16loop

	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, (DX)
	ADDQ $4, DX
	ADDQ R8, SI
	DECQ R10
	JNZ f16row
	VZEROUPPER
	RET

// func f16ToF32(n int, src *byte, dst *float32)
TEXT ·f16ToF32(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
	SHRQ $4, CX
	JZ f16cvtdone

f16cvt:
	VCVTPH2PS (SI), Z0
	VMOVUPS Z0, (DI)
	ADDQ $32, SI
	ADDQ $64, DI
	DECQ CX
	JNZ f16cvt

f16cvtdone:
	VZEROUPPER
	RET
