//go:build !purego

#include "textflag.h"

// 4 F16 rows (stride bytes apart) times one float32 activation row, 32
// values per iteration: per row, two VCVTPH2PS (16 values each) and two
// FMAs into its own pair of accumulators. The 4 rows 8 rows ahead are
// prefetched into L2 as one stream (256 bytes per iteration; rows are
// contiguous in the weight matrix).

// func matVecF16x4(n int, w *byte, stride int, a *float32, out *float32)
TEXT ·matVecF16x4(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	SHRQ $5, CX
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ a+24(FP), DI
	LEAQ (SI)(R8*2), R9
	ADDQ R8, R9          // row 3
	LEAQ (SI)(R8*8), BX  // rows 8-11
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7

f16x4loop:
	PREFETCHT1 (BX)
	PREFETCHT1 64(BX)
	PREFETCHT1 128(BX)
	PREFETCHT1 192(BX)
	ADDQ $256, BX
	VMOVUPS (DI), Z8
	VMOVUPS 64(DI), Z9
	VCVTPH2PS (SI), Z10
	VCVTPH2PS 32(SI), Z11
	VCVTPH2PS (SI)(R8*1), Z12
	VCVTPH2PS 32(SI)(R8*1), Z13
	VCVTPH2PS (SI)(R8*2), Z14
	VCVTPH2PS 32(SI)(R8*2), Z15
	VCVTPH2PS (R9), Z16
	VCVTPH2PS 32(R9), Z17
	VFMADD231PS Z8, Z10, Z0
	VFMADD231PS Z9, Z11, Z1
	VFMADD231PS Z8, Z12, Z2
	VFMADD231PS Z9, Z13, Z3
	VFMADD231PS Z8, Z14, Z4
	VFMADD231PS Z9, Z15, Z5
	VFMADD231PS Z8, Z16, Z6
	VFMADD231PS Z9, Z17, Z7
	ADDQ $64, SI
	ADDQ $64, R9
	ADDQ $128, DI
	DECQ CX
	JNZ f16x4loop

	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z5, Z4, Z4
	VADDPS Z7, Z6, Z6
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF64X4 $1, Z2, Y3
	VADDPS Y3, Y2, Y2
	VEXTRACTF64X4 $1, Z4, Y5
	VADDPS Y5, Y4, Y4
	VEXTRACTF64X4 $1, Z6, Y7
	VADDPS Y7, Y6, Y6
	VHADDPS Y2, Y0, Y0
	VHADDPS Y6, Y4, Y4
	VHADDPS Y4, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	MOVQ out+32(FP), DX
	VMOVUPS X0, (DX)
	VZEROUPPER
	RET
