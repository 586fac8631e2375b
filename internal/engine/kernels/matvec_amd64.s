//go:build !purego

#include "textflag.h"

DATA nib4<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib4<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib4<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib4<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nib4<>(SB), RODATA|NOPTR, $32

// acc = Σ_4 u8(q) * s8(Y8) where q are the 32 nibbles of the Q4_0 block whose
// qs start at addr (low nibbles first, then high). Clobbers Y12, Y13.
#define Q4_DOT(addr, acc) \
	VMOVDQU addr, X12; \
	VPSRLW $4, X12, X13; \
	VINSERTI128 $1, X13, Y12, Y12; \
	VPAND Y9, Y12, Y12; \
	VPXOR acc, acc, acc; \
	VPDPBUSD Y8, Y12, acc

// Y1 lane r = Σ of the 8 int32 lanes of Y_r, r = 0..7. Clobbers Y0, Y2-Y7.
#define REDUCE8 \
	VPHADDD Y1, Y0, Y0; \
	VPHADDD Y3, Y2, Y2; \
	VPHADDD Y5, Y4, Y4; \
	VPHADDD Y7, Y6, Y6; \
	VPHADDD Y2, Y0, Y0; \
	VPHADDD Y6, Y4, Y4; \
	VPERM2I128 $0x20, Y4, Y0, Y1; \
	VPERM2I128 $0x31, Y4, Y0, Y2; \
	VPADDD Y2, Y1, Y1

// Y14 = the F16 scales at offset off of the 8 rows, as float32. Rows are at
// SI, SI+R8, SI+2*R8, R9, SI+4*R8, R9+2*R8, R10, R10+R8.
#define GATHER_D8(off) \
	MOVWLZX off(SI), AX; \
	VMOVD AX, X14; \
	VPINSRW $1, off(SI)(R8*1), X14, X14; \
	VPINSRW $2, off(SI)(R8*2), X14, X14; \
	VPINSRW $3, off(R9), X14, X14; \
	VPINSRW $4, off(SI)(R8*4), X14, X14; \
	VPINSRW $5, off(R9)(R8*2), X14, X14; \
	VPINSRW $6, off(R10), X14, X14; \
	VPINSRW $7, off(R10)(R8*1), X14, X14; \
	VCVTPH2PS X14, Y14

// func matVecQ4_0x8VNNI(nb int, w *byte, stride int, a *byte, asum *int32, ad *float32, out *float32)
TEXT ·matVecQ4_0x8VNNI(SB), NOSPLIT, $0-56
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ asum+32(FP), R11
	MOVQ ad+40(FP), R12
	MOVQ out+48(FP), DX
	LEAQ (SI)(R8*2), R9
	ADDQ R8, R9
	LEAQ (R9)(R8*2), R10
	ADDQ R8, R10
	LEAQ (R10)(R8*2), R13 // next 8 rows, prefetched 144 bytes per block
	VXORPS Y11, Y11, Y11
	VMOVDQU nib4<>(SB), Y9

q40x8loop:
	PREFETCHT0 (R13)
	PREFETCHT0 64(R13)
	PREFETCHT0 128(R13)
	ADDQ $144, R13
	VMOVDQU 2(DI), Y8
	Q4_DOT(2(SI), Y0)
	Q4_DOT(2(SI)(R8*1), Y1)
	Q4_DOT(2(SI)(R8*2), Y2)
	Q4_DOT(2(R9), Y3)
	Q4_DOT(2(SI)(R8*4), Y4)
	Q4_DOT(2(R9)(R8*2), Y5)
	Q4_DOT(2(R10), Y6)
	Q4_DOT(2(R10)(R8*1), Y7)
	REDUCE8
	VPBROADCASTD (R11), Y2
	VPSUBD Y2, Y1, Y1
	VCVTDQ2PS Y1, Y1
	GATHER_D8(0)
	VBROADCASTSS (R12), Y15
	VMULPS Y15, Y14, Y14
	VFMADD231PS Y14, Y1, Y11
	ADDQ $18, SI
	ADDQ $18, R9
	ADDQ $18, R10
	ADDQ $34, DI
	ADDQ $4, R11
	ADDQ $4, R12
	DECQ CX
	JNZ q40x8loop

	VMOVUPS Y11, (DX)
	VZEROUPPER
	RET
