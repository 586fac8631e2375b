//go:build !purego

#include "textflag.h"

DATA tnib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA tnib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA tnib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA tnib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL tnib<>(SB), RODATA|NOPTR, $32

// 8 Q4_0 rows against one Q8_0 activation row with the rows transposed into
// the lanes: after a 4x4 dword transpose of the 8 rows' packed nibbles, lane r
// of V_t holds row r's bytes 4t..4t+3, so one VPDPBUSD with 4 broadcast
// activation bytes adds 4 products to every row at once; no per-block
// horizontal reduction is needed.

// func matVecQ4_0x8T(nb int, w *byte, stride int, a *byte, asum *int32, ad *float32, out *float32)
TEXT ·matVecQ4_0x8T(SB), NOSPLIT, $0-56
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ asum+32(FP), R11
	MOVQ ad+40(FP), R12
	MOVQ out+48(FP), DX
	LEAQ (SI)(R8*2), R9
	ADDQ R8, R9            // row 3
	LEAQ (SI)(R8*4), R10   // row 4
	LEAQ (R10)(R8*2), R13
	ADDQ R8, R13           // row 7
	LEAQ (R10)(R8*8), R14
	LEAQ (R14)(R8*8), R14
	LEAQ (R14)(R8*8), R14
	LEAQ (R14)(R8*4), R14  // rows 24-31 ahead, prefetched into L2 (144 bytes per block)
	VXORPS Y11, Y11, Y11
	VMOVDQU tnib<>(SB), Y10

tloop:
	PREFETCHT1 (R14)
	PREFETCHT1 64(R14)
	PREFETCHT1 128(R14)
	ADDQ $144, R14
	// A0 = [row0 | row4], A1 = [row1 | row5], A2 = [row2 | row6], A3 = [row3 | row7]
	VMOVDQU 2(SI), X0
	VINSERTI128 $1, 2(R10), Y0, Y0
	VMOVDQU 2(SI)(R8*1), X1
	VINSERTI128 $1, 2(R10)(R8*1), Y1, Y1
	VMOVDQU 2(SI)(R8*2), X2
	VINSERTI128 $1, 2(R10)(R8*2), Y2, Y2
	VMOVDQU 2(R9), X3
	VINSERTI128 $1, 2(R13), Y3, Y3
	VPUNPCKLDQ Y1, Y0, Y4
	VPUNPCKHDQ Y1, Y0, Y5
	VPUNPCKLDQ Y3, Y2, Y6
	VPUNPCKHDQ Y3, Y2, Y7
	VPUNPCKLQDQ Y6, Y4, Y0 // V0: bytes 0-3 of each row
	VPUNPCKHQDQ Y6, Y4, Y1 // V1: bytes 4-7
	VPUNPCKLQDQ Y7, Y5, Y2 // V2: bytes 8-11
	VPUNPCKHQDQ Y7, Y5, Y3 // V3: bytes 12-15
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPAND Y10, Y0, Y4
	VPSRLW $4, Y0, Y5
	VPAND Y10, Y5, Y5
	VPDPBUSD.BCST 2(DI), Y4, Y8
	VPDPBUSD.BCST 18(DI), Y5, Y9
	VPAND Y10, Y1, Y4
	VPSRLW $4, Y1, Y5
	VPAND Y10, Y5, Y5
	VPDPBUSD.BCST 6(DI), Y4, Y8
	VPDPBUSD.BCST 22(DI), Y5, Y9
	VPAND Y10, Y2, Y4
	VPSRLW $4, Y2, Y5
	VPAND Y10, Y5, Y5
	VPDPBUSD.BCST 10(DI), Y4, Y8
	VPDPBUSD.BCST 26(DI), Y5, Y9
	VPAND Y10, Y3, Y4
	VPSRLW $4, Y3, Y5
	VPAND Y10, Y5, Y5
	VPDPBUSD.BCST 14(DI), Y4, Y8
	VPDPBUSD.BCST 30(DI), Y5, Y9
	VPADDD Y9, Y8, Y8
	VPBROADCASTD (R11), Y9
	VPSUBD Y9, Y8, Y8
	VCVTDQ2PS Y8, Y8
	// scales of the 8 rows
	MOVWLZX (SI), AX
	VMOVD AX, X14
	VPINSRW $1, (SI)(R8*1), X14, X14
	VPINSRW $2, (SI)(R8*2), X14, X14
	VPINSRW $3, (R9), X14, X14
	VPINSRW $4, (R10), X14, X14
	VPINSRW $5, (R10)(R8*1), X14, X14
	VPINSRW $6, (R10)(R8*2), X14, X14
	VPINSRW $7, (R13), X14, X14
	VCVTPH2PS X14, Y14
	VBROADCASTSS (R12), Y15
	VMULPS Y15, Y14, Y14
	VFMADD231PS Y14, Y8, Y11
	ADDQ $18, SI
	ADDQ $18, R9
	ADDQ $18, R10
	ADDQ $18, R13
	ADDQ $34, DI
	ADDQ $4, R11
	ADDQ $4, R12
	DECQ CX
	JNZ tloop

	VMOVUPS Y11, (DX)
	VZEROUPPER
	RET
